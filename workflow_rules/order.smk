# order: BWT matrix, Algorithm 1 predictions and the curriculum choice (Section 3).
# Until the evaluation stage exists, its accuracy table is the Table-1 example.


rule order:
    input:
        accuracies="examples/table1_accuracies.csv",
        code=code("pipeline/analysis", "pipeline/commands/order.py", "pipeline/report", *COMMON_CODE),
    output:
        bwt="data/order/bwt.csv",
        curriculum="data/order/curriculum.json",
        curricula="data/order/curricula.csv",
        heatmap="data/order/bwt.png",
    params:
        order=lambda wc: config["order"],
        seed=config["seed"],
    log:
        "data/logs/order.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline order --accuracies {input.accuracies} --out data/order --params params.yaml "
        "> {log} 2>&1"
