# Sourced by the GPU script (gpu-grids.sh) before their long runs: unbuffered logs, a
# CUDA device torch can see, and one tiny JADE run that trains on it.
export PYTHONUNBUFFERED=1
python3 -c "import torch; assert torch.cuda.is_available(); print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1
python3 -m jade_core train --variant jade --profile smoke --device cuda --output-dir /tmp/gpu-smoke || exit 1
