"""Reasoning perspectives: the eight built-ins, user-defined ones, and ids found in data.

A perspective is an instruction that asks a teacher to reason in one style. The student
never sees it (it answers bare questions); it is used to prompt teachers and to label
rationales for MetaNet and the latent analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

OTHER_PREFIX = "other:"


@dataclass(frozen=True)
class Perspective:
    id: str
    name: str
    instruction: str


BUILTIN: dict[str, Perspective] = {
    p.id: p
    for p in [
        Perspective(
            "formal_symbolic",
            "Formal / symbolic",
            "Solve the problem rigorously. Name every quantity with a symbol, write the "
            "equations that relate them and derive the result step by step. Do not skip "
            "steps and do not rely on intuition.",
        ),
        Perspective(
            "intuitive",
            "Intuitive",
            "Reason the way a sensible person would in everyday life: rely on intuition and "
            "common experience, use as few formulas as possible, and explain why the answer "
            "makes sense.",
        ),
        Perspective(
            "decomposition",
            "Decomposition",
            "Break the problem into numbered sub-problems (1., 2., ...). Solve each one in "
            "turn, using earlier results, until the original question is answered.",
        ),
        Perspective(
            "planning",
            "Plan, then solve",
            "First write a short plan: what is given, what is asked and the steps you will "
            "take. Then carry out the plan step by step.",
        ),
        Perspective(
            "analogy",
            "Analogy",
            "Find a simpler problem with the same structure, solve that one, and transfer "
            "its solution back to the original problem.",
        ),
        Perspective(
            "socratic",
            "Socratic",
            "Reach the answer through a chain of questions you ask yourself, each followed "
            "by its answer, until the last question is the one posed.",
        ),
        Perspective(
            "contrastive",
            "Contrastive",
            "List the candidate approaches or answers, compare them against the facts of "
            "the problem, and eliminate the weaker ones until one remains.",
        ),
        Perspective(
            "counterfactual",
            "Counterfactual",
            "Vary the conditions of the problem (what if a number or a fact were different?) "
            "to find which constraints decide the answer, then answer the problem as posed.",
        ),
    ]
}


def generic_for(perspective_id: str) -> Perspective:
    """A perspective for an id seen only in data (e.g. `other:standard_cot`)."""
    label = perspective_id.removeprefix(OTHER_PREFIX).replace("_", " ")
    return Perspective(
        perspective_id,
        label.capitalize(),
        f"Reason step by step in the style '{label}'.",
    )


def builtin_order(perspective_id: str) -> tuple[int, str]:
    """Sort key: built-ins in table order, then everything else alphabetically."""
    ids = list(BUILTIN)
    return (ids.index(perspective_id), "") if perspective_id in ids else (len(ids), perspective_id)


def resolve(
    ids: list[str], custom: list[Perspective] | None = None, seen_in_data: set[str] | None = None
) -> list[Perspective]:
    """Turn perspective ids into Perspectives; raise ValueError naming any unknown id.

    An id is known if it is built in, user-defined, `other:*`, or present in the data.
    """
    by_id = {**BUILTIN, **{p.id: p for p in custom or []}}
    seen = seen_in_data or set()
    unknown = [
        i for i in ids if i not in by_id and i not in seen and not i.startswith(OTHER_PREFIX)
    ]
    if unknown:
        raise ValueError(
            f"unknown perspective(s) {unknown}; built-in ids are {sorted(BUILTIN)}, "
            "custom ones must be declared under custom_perspectives"
        )
    return [by_id.get(i) or generic_for(i) for i in ids]
