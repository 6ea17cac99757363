"""Which explanation agrees with the model? Attention-based views and input attributions, scored.

    from attnviz.faithfulness import faithfulness, OutputChoice
    run = faithfulness(load_model("minilm"), "The train left the station on time")
    run.scores["rollout"], run.scores["occlusion"]          # one score per input token
    run.agreement()["occlusion"]["rollout"]                  # Spearman's ρ with occlusion

The output is one number (:mod:`attnviz.faithfulness.outputs`), the gradient methods run through Captum on
the input token embeddings (:mod:`attnviz.faithfulness.gradients`), the attention rows come from the engine's
own views (:mod:`attnviz.faithfulness.attention_rows`).
"""

from attnviz.faithfulness.agreement import spearman
from attnviz.faithfulness.attention_rows import register_row
from attnviz.faithfulness.compute import FAITHFULNESS_MAX_TOKENS, faithfulness
from attnviz.faithfulness.gradients import IG_STEPS
from attnviz.faithfulness.outputs import OUTPUTS_OF, ExplainedOutput, OutputChoice
from attnviz.faithfulness.result import METHODS, REFERENCES, Faithfulness, TokenAxis

__all__ = ["FAITHFULNESS_MAX_TOKENS", "IG_STEPS", "METHODS", "OUTPUTS_OF", "REFERENCES", "ExplainedOutput",
           "Faithfulness", "OutputChoice", "TokenAxis", "faithfulness", "register_row", "spearman"]
