# validate_predictions (Table 3: extra curricula against Algorithm 1's predictions) and report
# (the paper's tables and figures in data/report/).


rule validate_predictions:
    input:
        curriculum="data/order/curriculum.json",
        accuracies="data/eval/transfer/accuracies.csv",
        curricula="data/order/curricula.csv",
        best="data/models/curriculum/model",
        base="data/models/base",
        singles=expand("data/models/single/{task}/model", task=TASKS),
        data=expand("data/curated/{task}/{split}.parquet", task=TASKS, split=["train", "val", "test"]),
        code=code("pipeline/analysis", "pipeline/eval", "pipeline/rl", "pipeline/scale", "pipeline/data/verl_export.py",
                  "pipeline/rewards", "pipeline/models",
                  "pipeline/commands/validate.py", "pipeline/commands/train.py", *COMMON_CODE),
    output:
        predictions="data/validate/predictions.csv",
        models=directory("data/validate/models"),
        validation="data/validate/validation.json",
    params:
        backend=lambda wc: config["train"].get("backend", "local"),
        verl=lambda wc: config["train"].get("verl", {}),
        grpo=lambda wc: config["train"]["grpo"],
        overrides=lambda wc: config["train"]["overrides"],
        eval=lambda wc: config["eval"],
        rewards=lambda wc: config["rewards"],
        validate=lambda wc: config.get("validate", {}),
        floor=config["order"]["floor"],
        seed=config["seed"],
    priority: 50  # the critical path (singles → transfer → order → curriculum → validation) first
    log:
        "data/logs/validate_predictions.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline validate-predictions --order-dir data/order "
        "--accuracies data/eval/transfer/accuracies.csv --curriculum data/models/curriculum "
        "--base data/models/base --singles data/models/single --out data/validate --params params.yaml > {log} 2>&1"


rule report:
    input:
        transfer="data/eval/transfer/accuracies.csv",
        final="data/eval/final/accuracies.csv",
        benchmarks="data/eval/benchmarks/results.csv",
        curriculum="data/order/curriculum.json",
        curricula="data/order/curricula.csv",
        entropy="data/order/entropy_change.csv",
        predictions="data/validate/predictions.csv",
        validation="data/validate/validation.json",
        logs=expand("data/models/single/{task}/log.jsonl", task=TASKS),
        joint="data/models/joint/log.jsonl",
        curriculum_log="data/models/curriculum/log.jsonl",
        code=code("pipeline/report", "pipeline/analysis", "pipeline/commands/report.py", *COMMON_CODE),
    output:
        summary="data/report/summary.md",
        table1="data/report/table1.csv",
        table1_benchmarks="data/report/table1_benchmarks.csv",
        figure1="data/report/figure1.png",
        bwt_val="data/report/bwt_val.png",
        bwt_test="data/report/bwt_test.png",
        entropy="data/report/entropy_change.png",
        curves_png="data/report/training_curves.png",
        curves=directory("data/report/curves"),
        metrics="data/report/metrics.json",
    params:
        floor=config["order"]["floor"],
        accuracy=config["eval"]["accuracy"],
        samples=config["eval"]["samples"],
    log:
        "data/logs/report.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline report --transfer data/eval/transfer --final data/eval/final --order-dir data/order "
        "--validate data/validate --benchmarks data/eval/benchmarks --models data/models --out data/report "
        "--params params.yaml > {log} 2>&1"
