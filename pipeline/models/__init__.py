"""Models: the embedded default's tokenizer and tiny model; loading any model by path or hub id."""


def _quiet_transformers_progress() -> None:
    """transformers 5 draws a bar for every model it loads ("Loading weights") or saves ("Writing model shards"):
    dozens a stage around our own bars for the embedded default's tiny models. Its own bars are switched off;
    huggingface_hub's stay as they were (a download from the hub at paper scale keeps its bar)."""
    import huggingface_hub.utils as hub
    from transformers.utils import logging

    hub_bars = not hub.are_progress_bars_disabled()
    logging.disable_progress_bar()  # also switches off the hub's bars,
    if hub_bars:
        hub.enable_progress_bars()  # which are switched on again


_quiet_transformers_progress()
