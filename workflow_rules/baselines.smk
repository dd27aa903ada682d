# Baselines of Section 4: sft_rft (rejection-sampling SFT from θ0) and merge_ties (best single-task
# checkpoints on validation, TIES-merged into θ0 with mergekit).


rule sft_rft:
    input:
        base="data/models/base",
        data=expand("data/curated/{task}/train.parquet", task=TASKS),
        code=code("pipeline/baselines", "pipeline/eval", "pipeline/rewards", "pipeline/rl/rollout.py",
                  "pipeline/rl/grpo.py", "pipeline/models", "pipeline/commands/sft_rft.py", *COMMON_CODE),
    output:
        model=directory("data/models/sft/model"),
        data="data/models/sft/rft_data.jsonl",
        stats="data/models/sft/rft.json",
    params:
        rft=lambda wc: config.get("baselines", {}).get("rft", {}),
        generation=lambda wc: {k: config["eval"].get(k) for k in ("backend", "vllm")},
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    log:
        "data/logs/sft_rft.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline sft-rft --base data/models/base --out data/models/sft --params params.yaml > {log} 2>&1"


rule merge_ties:
    input:
        base="data/models/base",
        singles=expand("data/models/single/{task}/{out}", task=TASKS, out=["model", "checkpoints", "metrics.json"]),
        transfer="data/eval/transfer/units.jsonl",
        data=expand("data/curated/{task}/{split}.parquet", task=TASKS, split=["val", "test"]),
        code=code("pipeline/baselines", "pipeline/eval", "pipeline/rewards", "pipeline/rl/rollout.py",
                  "pipeline/rl/grpo.py", "pipeline/models", "pipeline/commands/merge_ties.py", *COMMON_CODE),
    output:
        model=directory("data/models/merged/model"),
        selection="data/models/merged/selection.json",
    params:
        merge=lambda wc: config.get("baselines", {}).get("merge", {}),
        eval=lambda wc: config["eval"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    log:
        "data/logs/merge_ties.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline merge-ties --base data/models/base --singles data/models/single --reuse data/eval/transfer "
        "--out data/models/merged "
        "--params params.yaml > {log} 2>&1"
