# evaluate_transfer: θ0 and every single-task model on every task, val and test (accuracy + entropy).


rule evaluate_transfer:
    input:
        base="data/models/base",
        singles=expand("data/models/single/{task}/model", task=TASKS),
        data=expand("data/curated/{task}/{split}.parquet", task=TASKS, split=["val", "test"]),
        code=code("pipeline/eval", "pipeline/rewards", "pipeline/rl/rollout.py", "pipeline/commands/evaluate.py",
                  *COMMON_CODE),
    output:
        accuracies="data/eval/transfer/accuracies.csv",
        entropies="data/eval/transfer/entropies.csv",
    params:
        eval=lambda wc: config["eval"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    log:
        "data/logs/evaluate_transfer.log",
    resources:
        gpu=1,
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single --out data/eval/transfer "
        "--params params.yaml > {log} 2>&1"
