#!/usr/bin/env bash
# Slurm job array: one ingest + compress shard per task.
#   sbatch --array=0-99 scripts/hpc/slurm-ingest.sh 'data/*.root' model/ out/
#SBATCH --job-name=hepae-shard
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=01:00:00
set -euo pipefail
inputs="$1"; model="$2"; out="$3"
k="${SLURM_ARRAY_TASK_ID:?run as a job array}"
n="${SLURM_ARRAY_TASK_COUNT:?run as a job array}"
hepae="${HEPAE:-hepae}"
mkdir -p "$out"
"$hepae" ingest --input "$inputs" --collection "${COLLECTION:-Jet}" \
    --cut pt:1:8000 --cut mass:0.001:800 \
    --shard "$k/$n" --out "$out/jets-{shard}.parquet"
"$hepae" compress --data "$out/jets-$k.parquet" --model "$model" --out "$out/jets-$k.hepae"
