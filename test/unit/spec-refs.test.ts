// Every section reference in the code (a comment names "docs/spec.md §1.3" once, then "§3.4",
// "§1.3 step 8", "§1.3–1.4" may follow) must be a numbered heading of docs/spec.md, and a numbered
// step in it when one is given, so a newcomer can follow any comment to its facts. Below the header
// the sign is written \u00a7, so the scanner's own patterns are not read as references.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const SPEC = "docs/spec.md";
const SCANNED = ["kernel", "native", "test", "bench", "scripts"];
/** A bare reference must follow a named one within this many lines (the same comment). */
const NAMED_WITHIN = 3;

interface Section {
  title: string;
  /** Numbers of the ordered-list items ("1. ", "2. " …) in the section's own text. */
  steps: Set<number>;
}

/** Numbered headings of the spec ("### 1.3 Forward, one token" → "1.3"), with their step numbers. */
function specSections(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  for (const line of text.split("\n")) {
    const h = /^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s+(.*)$/.exec(line);
    if (h) {
      assert.ok(!sections.has(h[1]), `${SPEC}: section ${h[1]} appears twice`);
      current = { title: h[2], steps: new Set() };
      sections.set(h[1], current);
      continue;
    }
    if (/^#{1,6}\s/.test(line)) current = undefined;
    const step = /^\s*(\d+)\.\s/.exec(line);
    if (step && current) current.steps.add(Number(step[1]));
  }
  return sections;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

interface Ref {
  where: string;
  section: string;
  steps: number[];
}

const SIGN = "\u00a7";
// matches \u00a71.3, \u00a71.3–1.4, \u00a71.3 step 8 and \u00a71.3 steps 4–6
const REF = new RegExp(
  `${SIGN}\\s?(\\d+(?:\\.\\d+)*)(?:[–-](\\d+(?:\\.\\d+)*))?(?:\\s+steps?\\s+(\\d+)(?:[–-](\\d+))?)?`,
  "g",
);
// whatever names the spec right before the sign: it must be exactly docs/spec.md
const NAMED = new RegExp(`([\\w./-]*spec[\\w./-]*)\\s?${SIGN}`, "gi");

function range(a: number, b = a): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** All section references of one file, plus the problems with how they are written. */
function scan(file: string, text: string): { refs: Ref[]; problems: string[] } {
  const refs: Ref[] = [],
    problems: string[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (!line.includes(SIGN)) return;
    const where = `${file}:${i + 1}`;
    for (const m of line.matchAll(NAMED))
      if (m[1] !== SPEC) problems.push(`${where}: cites "${m[1]} ${SIGN}"; write "${SPEC} ${SIGN}x.y"`);
    const context = lines.slice(Math.max(0, i - NAMED_WITHIN), i + 1).join("\n");
    if (!context.includes(`${SPEC} ${SIGN}`))
      problems.push(`${where}: a bare ${SIGN} reference; name ${SPEC} once in the comment`);
    for (const m of line.matchAll(REF)) {
      const steps = m[3] ? range(Number(m[3]), m[4] ? Number(m[4]) : undefined) : [];
      refs.push({ where, section: m[1], steps });
      if (m[2]) refs.push({ where, section: m[2], steps: [] });
    }
  });
  return { refs, problems };
}

const specText = fs.readFileSync(path.join(ROOT, SPEC), "utf8");
const sections = specSections(specText);

/** Text sources that may carry comments (binary data such as golden.bin can hold that byte pair by chance). */
const SOURCE = /\.(ts|js|cc|h|inc|cu|cuh|c|py|sh)$|(^|\/)[^./]+$/;

/** One message per reference whose section, or step in it, is not in the spec. */
function unresolved(refs: Ref[]): string[] {
  const out: string[] = [];
  for (const r of refs) {
    const s = sections.get(r.section);
    if (!s) out.push(`${r.where}: ${SIGN}${r.section} is not a heading of ${SPEC}`);
    else
      for (const n of r.steps)
        if (!s.steps.has(n)) out.push(`${r.where}: ${SIGN}${r.section} ("${s.title}") has no step ${n}`);
  }
  return out;
}

test("docs/spec.md: numbered sections, contents links and its own cross-references resolve", () => {
  assert.ok(sections.size > 20, `${SPEC} has only ${sections.size} numbered headings`);
  const anchors = new Set(
    specText
      .split("\n")
      .filter((l) => /^#{1,6}\s/.test(l))
      .map((l) => slug(l.replace(/^#+\s+/, ""))),
  );
  const broken = [...specText.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]).filter((a) => !anchors.has(a));
  assert.deepEqual(broken, [], `${SPEC}: contents links without a heading`);
  const own = unresolved(scan(SPEC, specText).refs);
  assert.deepEqual(own, [], own.join("\n"));
});

test("every section reference in kernel/, native/, test/, bench/ and scripts/ resolves in docs/spec.md", () => {
  const files = execFileSync("git", ["ls-files", "-z", "--", ...SCANNED], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter((f) => f !== "" && SOURCE.test(f) && fs.existsSync(path.join(ROOT, f)));
  assert.ok(files.length > 50, `git ls-files found only ${files.length} files under ${SCANNED.join(", ")}`);
  const problems: string[] = [];
  let count = 0;
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    if (!text.includes(SIGN)) continue;
    const found = scan(file, text);
    problems.push(...found.problems, ...unresolved(found.refs));
    count += found.refs.length;
  }
  assert.ok(count > 30, `found only ${count} references; is the scan still reading the sources?`);
  assert.deepEqual(problems, [], problems.join("\n"));
});

test("the reference scanner reads ranges and steps, and flags unnamed or wrongly named citations", () => {
  const text = [
    `// docs/spec.md ${SIGN}1.3–1.4 and ${SIGN}3.4`,
    `// continued: ${SIGN}1.3 steps 4–6`,
    `// spec ${SIGN}9.9 step 2`,
    "",
    "",
    "",
    `// far away: ${SIGN}2.2`,
  ].join("\n");
  const { refs, problems } = scan("x.ts", text);
  assert.deepEqual(
    refs.map((r) => [r.where, r.section, r.steps]),
    [
      ["x.ts:1", "1.3", []],
      ["x.ts:1", "1.4", []],
      ["x.ts:1", "3.4", []],
      ["x.ts:2", "1.3", [4, 5, 6]],
      ["x.ts:3", "9.9", [2]],
      ["x.ts:7", "2.2", []],
    ],
  );
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^x\.ts:3: cites "spec /);
  assert.match(problems[1], /^x\.ts:7: a bare/);
  assert.ok(!sections.has("9.9"), "the made-up section must not exist");
});
