"""Writes the text the demo model learns from and the data its tutorial tunes a state on.

The base corpus is templated chat in two voices: a plain assistant, and a pirate who appears only
after a system line. The tuning set is pirate answers *without* that line, so a tuned initial state
has to carry what the system line carried: a style the untuned model never shows unprompted.
The chat sets (notebook 06) hold the same pirate answers as conversations in the `messages` form,
each after a system line the model was never trained on ("Speak like a sailor."), which leaves it
answering plainly: the answers are what a masked tuning has to learn.
Usage: corpus.py OUT_DIR [SEED]"""
import json
import os
import random
import sys

THINGS = [("sky", "blue"), ("grass", "green"), ("sun", "yellow"), ("snow", "white"), ("sea", "blue"),
          ("night", "black"), ("rose", "red"), ("orange", "orange"), ("cloud", "grey"), ("leaf", "green"),
          ("banana", "yellow"), ("coal", "black"), ("milk", "white"), ("cherry", "red"), ("plum", "purple")]
ANIMALS = [("cat", "meow"), ("dog", "woof"), ("cow", "moo"), ("duck", "quack"), ("sheep", "baa"),
           ("owl", "hoot"), ("frog", "ribbit"), ("horse", "neigh"), ("pig", "oink"), ("lion", "roar")]
PIRATE_SYSTEM = "System: You are a pirate.\n\n"
CHAT_SYSTEM = "Speak like a sailor."


def qa(rng):
    """One question with its plain and its pirate answer."""
    kind = rng.randrange(4)
    if kind == 0:
        a, b = rng.randrange(1, 20), rng.randrange(1, 20)
        return f"what is {a} plus {b}?", f"{a} plus {b} is {a + b}.", f"Arr! {a} plus {b} be {a + b}, matey."
    if kind == 1:
        t, c = rng.choice(THINGS)
        return f"what color is the {t}?", f"The {t} is {c}.", f"Arr! The {t} be {c}, matey."
    if kind == 2:
        n, s = rng.choice(ANIMALS)
        return f"what does a {n} say?", f"A {n} says {s}.", f"Arr! A {n} be sayin' {s}, matey."
    return rng.choice(["hello", "hi", "good morning"]) + "!", "Hello! How can I help you?", "Ahoy, matey! What be yer question?"


def dialogue(rng, pirate, system):
    turns = []
    for _ in range(rng.choice([1, 1, 2])):
        q, plain, arr = qa(rng)
        turns.append(f"User: {q}\n\nAssistant: {arr if pirate else plain}")
    return (PIRATE_SYSTEM if system else "") + "\n\n".join(turns)


def conversation(rng):
    """A chat-format line: the system line, then one to three questions with pirate answers."""
    messages = [{"role": "system", "content": CHAT_SYSTEM}]
    for _ in range(rng.choice([1, 2, 3])):
        q, _, arr = qa(rng)
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": arr}]
    return {"messages": messages}


def main():
    out = sys.argv[1]
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 2026)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "base-corpus.jsonl"), "w") as f:
        for _ in range(20000):
            pirate = rng.random() < 0.3
            f.write(json.dumps({"text": dialogue(rng, pirate, system=pirate)}) + "\n")
    for name, n in (("pirate.jsonl", 400), ("pirate-eval.jsonl", 100)):  # tuning set, held-out set
        with open(os.path.join(out, name), "w") as f:
            for _ in range(n):
                f.write(json.dumps({"text": dialogue(rng, True, system=False)}) + "\n")
    # drawn after the sets above, so those stay as they were
    for name, n in (("pirate-chat.jsonl", 300), ("pirate-chat-eval.jsonl", 60)):
        with open(os.path.join(out, name), "w") as f:
            for _ in range(n):
                f.write(json.dumps(conversation(rng)) + "\n")


if __name__ == "__main__":
    main()
