# curate@{task}: one task's data from its real source or the synthetic generator (Section 4).


rule curate:
    input:
        code=code("pipeline/data", "pipeline/commands/curate.py", "pipeline/text.py", *COMMON_CODE),
    output:
        train="data/curated/{task}/train.parquet",
        val="data/curated/{task}/val.parquet",
        test="data/curated/{task}/test.parquet",
        pretrain="data/curated/{task}/pretrain.parquet",
        stats="data/curated/{task}/stats.json",
    params:
        cfg=lambda wc: config["data"]["tasks"][wc.task],
        fractions=lambda wc: (config["seed"], config["data"]["val_fraction"], config["data"]["test_fraction"]),
    log:
        "data/logs/curate/{task}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m pipeline curate --task {wildcards.task} --out data/curated/{wildcards.task} --params params.yaml "
        "> {log} 2>&1"
