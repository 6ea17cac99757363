"""app.py's router as the app tests open it: run from this folder, which holds no ``pages/``.

AppTest resets Streamlit's pages/-folder flag before every run, so beside a ``pages/`` folder it runs a switched
page's file alone, without the router around it; a real server goes through app.py on every run (the server
declares its navigation, ui/navigation.py, checked by tests/e2e/test_first_visit.py). From here no ``pages/``
folder is in sight, so every AppTest run goes through the router too: the language switch, the link's checks and
the one place that shows engine errors.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[2] / "app.py"), run_name="__main__")
