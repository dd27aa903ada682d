# base_model: θ0, and train_single@{task}: single-task GRPO from θ0 (Section 4).


rule base_model:
    input:
        data=expand("data/curated/{task}/{split}.parquet", task=TASKS, split=["pretrain", "train"]),
        code=code("pipeline/models", "pipeline/commands/base_model.py", "pipeline/data/schema.py", *COMMON_CODE),
    output:
        directory("data/models/base"),
    params:
        models=lambda wc: config["models"],
        seed=config["seed"],
    threads: workflow.cores  # nothing else runs beside it; warm start on every core
    log:
        "data/logs/base_model.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline base-model --out data/models/base --params params.yaml > {log} 2>&1"


rule train_single:
    input:
        base="data/models/base",
        data="data/curated/{task}/train.parquet",
        code=code("pipeline/rl", "pipeline/scale", "pipeline/data/verl_export.py", "pipeline/rewards", "pipeline/models", "pipeline/commands/train.py", *COMMON_CODE),
    output:
        model=directory("data/models/single/{task}/model"),
        checkpoints=directory("data/models/single/{task}/checkpoints"),
        metrics="data/models/single/{task}/metrics.json",
        log="data/models/single/{task}/log.jsonl",
    params:
        backend=lambda wc: config["train"].get("backend", "local"),
        verl=lambda wc: config["train"].get("verl", {}),
        grpo=lambda wc: config["train"]["grpo"],
        override=lambda wc: config["train"]["overrides"].get(wc.task, {}),
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    priority: 50  # the critical path (singles → transfer → order → curriculum → validation) first
    log:
        "data/logs/train_single/{task}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline train --mode single --task {wildcards.task} --base data/models/base "
        "--out data/models/single/{wildcards.task} --params params.yaml > {log} 2>&1"
