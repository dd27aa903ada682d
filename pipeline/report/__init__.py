"""Tables and figures (report stage and per-stage plots)."""
