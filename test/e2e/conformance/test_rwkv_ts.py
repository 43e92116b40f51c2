"""Jupyter's kernel conformance suite (jupyter_kernel_test) on rwkv-ts.

Run by test/e2e/conformance.test.ts with a temporary JUPYTER_PATH holding the rwkv-ts kernelspec
and a temporary JUPYTER_DATA_DIR (the kernel's input history). Every sample set is filled in, so
no check of the suite is skipped.
"""

import unittest

import jupyter_kernel_test as jkt


class RwkvTsKernelTests(jkt.KernelTests):
    kernel_name = "rwkv-ts"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'

    completion_samples = [
        {"text": "Math.ma", "matches": {"max"}},
        {"text": "conso", "matches": {"console"}},
        {"text": "[1, 2].ma", "matches": {"map", "flatMap"}},
    ]

    complete_code_samples = ["1 + 1", "const total = 3;", "for (const x of [1, 2]) { console.log(x); }"]
    incomplete_code_samples = ["for (let i = 0; i < 3; i++) {", "const f = (a: number,", "const s = `one"]
    invalid_code_samples = ["let = = 3;", "f(1))", "const = 1"]

    code_page_something = "Math.max?"

    code_generate_error = 'throw new Error("boom")'

    # The history checks execute these and search them; the pattern matches exactly one of them.
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "[1, 2, 3].length", "result": "3"},
        {"code": '"rwkv".toUpperCase()', "result": "RWKV"},
    ]
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_display_data = [
        {"code": 'rwkv.display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'rwkv.display.markdown("*md*")', "mime": "text/markdown"},
        {"code": "rwkv.display.json({ a: 1 })", "mime": "application/json"},
    ]

    code_inspect_sample = "Math.max"

    code_clear_output = 'rwkv.display("soon gone"); rwkv.display.clear()'


if __name__ == "__main__":
    unittest.main()
