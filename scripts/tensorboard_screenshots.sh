#!/usr/bin/env bash
# Screenshots of TensorBoard's Scalars, Images, HParams and Text views over two short real runs.
#
# Usage: scripts/tensorboard_screenshots.sh [OUTPUT_DIR]    (default: docs/images)
#
# Trains a DCGAN on mnist5k and a WGAN-GP on grid25 for three short epochs each in a
# temporary directory, starts TensorBoard on 127.0.0.1 over them, and captures each view
# with headless Chromium once its charts, images or tables are drawn
# (scripts/tensorboard_screenshot.py). Writes tensorboard_{scalars,images,hparams,text}.png.
# Needs: the keras_gen virtual environment (.venv, or keras-gen and tensorboard on PATH)
# and Chromium (`apt-get install chromium`; another binary with CHROMIUM=...).
# Set KEEP_RUNS=1 to keep the temporary directory. Takes about three and a half minutes on two
# busy CPU cores.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/docs/images}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -x $repo/.venv/bin/keras-gen ]]; then
  PATH=$repo/.venv/bin:$PATH
fi
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
for tool in keras-gen tensorboard python; do
  command -v "$tool" > /dev/null || { echo "error: $tool not found (activate the keras_gen venv)" >&2; exit 1; }
done
[[ -n $chromium ]] || { echo "error: no Chromium found (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }

work=$(mktemp -d -t tensorboard-screenshots.XXXXXX)
tensorboard_pid=
cleanup() {
  if [[ -n $tensorboard_pid ]]; then
    kill "$tensorboard_pid" 2> /dev/null || true
    wait "$tensorboard_pid" 2> /dev/null || true
  fi
  if [[ ${KEEP_RUNS:-0} == 1 ]]; then
    echo "runs kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
cd "$work"

train() {
  local name=$1
  shift
  echo "training: keras-gen train $*"
  if ! keras-gen train "$@" --verbose 2 > "$name.log" 2>&1; then
    tail -n 30 "$name.log" >&2
    exit 1
  fi
}
# Relative --logdir, so that run.json and the Text view show the paths a user would type.
train dcgan dcgan --epochs 3 --steps-per-epoch 40 --fid-every 3 --fid-samples 500 \
  --logdir runs/dcgan-demo
train wgan_gp wgan_gp --dataset grid25 --epochs 3 --steps-per-epoch 50 --logdir runs/wgan_gp-demo
# TensorBoard follows the runs/<model>-latest links and would list each run a second time.
rm -f runs/*-latest

port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# images=1000 keeps every logged grid; TensorBoard's default keeps 10 (and 0 keeps none).
tensorboard --logdir runs --host 127.0.0.1 --port "$port" --samples_per_plugin images=1000 \
  > tensorboard.log 2>&1 &
tensorboard_pid=$!

# Wait until TensorBoard answers and has read the runs of both trainings.
python - "$url" << 'EOF'
import json, sys, time, urllib.request

wanted = {"dcgan-demo", "dcgan-demo/train", "wgan_gp-demo", "wgan_gp-demo/train"}
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1] + "/data/runs", timeout=5) as reply:
            if wanted <= set(json.load(reply)):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(1)
sys.exit("error: TensorBoard did not list the runs within 180 s (see tensorboard.log)")
EOF

shot() {
  local view=$1
  shift
  python "$repo/scripts/tensorboard_screenshot.py" --chromium "$chromium" --url "$url" \
    --view "$view" --output "$out/tensorboard_$view.png" "$@"
}
# Six charts (d_fake, d_loss, d_real, fid, g_loss, gradient_penalty): three rows.
shot scalars --height 1100
shot images
# Every hyperparameter would not fit beside the six metrics: two columns, the page at 70 %.
shot hparams --zoom 0.7 --hparams-columns model,dataset
# The run record and final metrics of the DCGAN run, in one grid.
shot text --run-filter "^dcgan-demo$" --tag-filter "final_metrics|run_record" --height 1300
