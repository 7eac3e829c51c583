#!/usr/bin/env bash
# The README's pictures of generate.py, from a shipped model (default mnist_attention):
#   bash docs/pictures.sh [NAME]
# writes docs/generate/{stochastic.png,stochastic.gif,reconstruct.gif,fix_step_all.png,
# interpolate_prior.png,interpolate_data.png}, all with seed 0.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-mnist_attention}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
make() {
  local name="$1"
  shift
  python generate.py --pretrained="$model" --seed=0 --out_dir="$tmp/$name" "$@"
}
make grid --stochastic --num_samples=100
make gif --stochastic --num_samples=36
make glimpses --reconstruct --show_attention --num_samples=9
make fixed --fix_step=all
make prior --interpolate
make data --interpolate --interpolate_from=data
mkdir -p docs/generate
cp "$tmp/grid/stochastic.png" "$tmp/gif/stochastic.gif" "$tmp/glimpses/reconstruct.gif" \
  "$tmp/fixed/fix_step_all.png" "$tmp/prior/interpolate_prior.png" \
  "$tmp/data/interpolate_data.png" docs/generate/
echo "wrote the pictures of $model into docs/generate/"
