# order: BWT matrix, Algorithm 1 predictions, the curriculum choice and the entropy matrix (Section 3),
# from the measured accuracies of evaluate_transfer (the split is order.split).


rule order:
    input:
        accuracies="data/eval/transfer/accuracies.csv",
        entropies="data/eval/transfer/entropies.csv",
        code=code("pipeline/analysis", "pipeline/commands/order.py", "pipeline/report", *COMMON_CODE),
    output:
        bwt="data/order/bwt.csv",
        curriculum="data/order/curriculum.json",
        curricula="data/order/curricula.csv",
        heatmap="data/order/bwt.png",
        entropy="data/order/entropy_change.csv",
        entropy_heatmap="data/order/entropy_change.png",
    params:
        order=lambda wc: config["order"],
        seed=config["seed"],
    priority: 50  # the critical path (singles → transfer → order → curriculum → validation) first
    log:
        "data/logs/order.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline order --accuracies data/eval/transfer/accuracies.csv "
        "--entropies data/eval/transfer/entropies.csv --out data/order --params params.yaml "
        "> {log} 2>&1"
