# evaluate_transfer: θ0 and every single-task model on every task, val and test (accuracy + entropy).


rule evaluate_transfer:
    input:
        base="data/models/base",
        singles=expand("data/models/single/{task}/model", task=TASKS),
        data=expand("data/curated/{task}/{split}.parquet", task=TASKS, split=["val", "test"]),
        code=code("pipeline/eval", "pipeline/rewards", "pipeline/rl/rollout.py", "pipeline/rl/grpo.py", "pipeline/models", "pipeline/commands/evaluate.py",
                  *COMMON_CODE),
    output:
        accuracies="data/eval/transfer/accuracies.csv",
        entropies="data/eval/transfer/entropies.csv",
        units="data/eval/transfer/units.jsonl",
    params:
        eval=lambda wc: config["eval"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    threads: workflow.cores  # eval.workers: one single-thread process per core
    priority: 50  # the critical path (singles → transfer → order → curriculum → validation) first
    log:
        "data/logs/evaluate_transfer.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single --out data/eval/transfer "
        "--params params.yaml > {log} 2>&1"


# evaluate_final: Base, ST×K, SFT, MM, JT and CL on test (Base and the single-task models: evaluate_transfer's
# results, reused; see pipeline/eval/reuse.py).


rule evaluate_final:
    input:
        base="data/models/base",
        singles=expand("data/models/single/{task}/model", task=TASKS),
        transfer="data/eval/transfer/units.jsonl",
        sft="data/models/sft/model",
        merged="data/models/merged/model",
        joint="data/models/joint/model",
        curriculum="data/models/curriculum/model",
        data=expand("data/curated/{task}/test.parquet", task=TASKS),
        code=code("pipeline/eval", "pipeline/rewards", "pipeline/rl/rollout.py", "pipeline/rl/grpo.py", "pipeline/models", "pipeline/commands/evaluate.py",
                  *COMMON_CODE),
    output:
        accuracies="data/eval/final/accuracies.csv",
        entropies="data/eval/final/entropies.csv",
        units="data/eval/final/units.jsonl",
    params:
        eval=lambda wc: config["eval"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    threads: workflow.cores  # eval.workers: one single-thread process per core
    log:
        "data/logs/evaluate_final.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline evaluate --transfer data/models/base data/models/single --model sft=data/models/sft/model "
        "--model merged=data/models/merged/model --model joint=data/models/joint/model "
        "--model curriculum=data/models/curriculum/model --split test --reuse data/eval/transfer --out data/eval/final "
        "--params params.yaml > {log} 2>&1"


# evaluate_benchmarks: Table 1's benchmarks (benchmarks.names; none in the embedded default) for Base, SFT,
# MM, JT, CL, and each domain's single-task model on its own domain's benchmarks (ST×K).


rule evaluate_benchmarks:
    input:
        base="data/models/base",
        sft="data/models/sft/model",
        merged="data/models/merged/model",
        joint="data/models/joint/model",
        curriculum="data/models/curriculum/model",
        singles=expand("data/models/single/{task}/model", task=TASKS),
        code=code("pipeline/eval", "pipeline/rewards", "pipeline/rl/rollout.py", "pipeline/rl/grpo.py", "pipeline/models",
                  "pipeline/data/prompts.py", "pipeline/data/sources.py", "pipeline/commands/benchmark.py",
                  *COMMON_CODE),
    output:
        results="data/eval/benchmarks/results.csv",
    params:
        benchmarks=lambda wc: config.get("benchmarks", {}),
        eval=lambda wc: config["eval"],
        rewards=lambda wc: config["rewards"],
        seed=config["seed"],
    log:
        "data/logs/evaluate_benchmarks.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline benchmark --model base=data/models/base --model sft=data/models/sft/model "
        "--model merged=data/models/merged/model --model joint=data/models/joint/model "
        "--model curriculum=data/models/curriculum/model --singles data/models/single --out data/eval/benchmarks "
        "--params params.yaml > {log} 2>&1"
