"""Heads across a corpus: per-head statistics over many texts, on one machine or a Ray cluster.

    from attnviz.census import census
    result = census("minilm", "sentences.txt", "census.parquet")          # or engine="ray"
    result.grid("encoder", "previous")                                      # [layer, head]
    CensusResult.load("census.parquet").examples_for("encoder", 2, 5, "previous")

Modules: sources (reading texts), gold (toy-grammar alignments and sample corpora), stats (the
per-batch function and how parts add up), engines (local and Ray), qkmap (joint query/key maps),
report (the finished census and its Parquet file), figures (plotly figures of a census); the command line is
``attnviz/cli/census.py``.
"""

from attnviz.census.accumulate import census_of_results
from attnviz.census.batches import CensusOptions
from attnviz.census.engines import ENGINES, census
from attnviz.census.forward import census_batch
from attnviz.census.report import GRID_STATS, CensusMeta, CensusResult
from attnviz.census.sources import CensusInputError, Corpus, corpus_from_texts, read_corpus

__all__ = ["ENGINES", "GRID_STATS", "CensusInputError", "CensusMeta", "CensusOptions", "CensusResult", "Corpus",
           "census", "census_batch", "census_of_results", "corpus_from_texts", "read_corpus"]
