"""Paper scale: params.yaml as verl runs it (Hydra overrides, training and SFT), and Ray inside a Slurm allocation."""
