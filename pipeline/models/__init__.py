"""Models: the embedded default's tokenizer and tiny model; loading any model by path or hub id."""
