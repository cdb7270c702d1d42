# The experiment image for GPU hosts. BASE_IMAGE is an official CUDA PyTorch image, e.g.
#   aisci sandbox build --gpu --base pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime
# `python` is the base image's interpreter (it has torch with CUDA); the rest of the experiment stack is added.
# Runs with the same isolation as the CPU image: read-only root, /work mounted read-only, uid 1000.
ARG BASE_IMAGE=pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

RUN python -m pip install --no-cache-dir --disable-pip-version-check numpy scipy matplotlib pandas tqdm \
 && python -c "import torch, numpy, scipy, matplotlib, pandas, tqdm" \
 && (getent passwd 1000 >/dev/null || useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin experiment) \
 && mkdir -p /work

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg
USER 1000:1000
WORKDIR /work
CMD ["python"]
