// Syntax questions about one cell's source, answered by the TypeScript parser that tslab checks
// and emits cells with: is it complete, does it use top-level `for await`, which call is the
// cursor inside, is it IPython's `exit`/`quit`; and one rewrite before tslab converts a cell.
import type * as TS from "@tslab/typescript-for-tslab";
import { tslabTypeScript } from "./resolve";

function parse(code: string): TS.SourceFile {
  const ts = tslabTypeScript();
  return ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function parseDiagnostics(sf: TS.SourceFile): readonly TS.DiagnosticWithLocation[] {
  // Not in the public typings, but the only way to get syntax errors without building a program.
  return (sf as unknown as { parseDiagnostics?: TS.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
}

export type Completeness = { status: "complete" } | { status: "incomplete"; indent: string } | { status: "invalid" };

/** TS1160 "Unterminated template literal": a multi-line template string still being typed. */
const UNTERMINATED_TEMPLATE = 1160;

/**
 * As a console asks before running what was typed: "incomplete" when the parser stopped at the
 * end of the text expecting more (an open brace, bracket, string template or comment), "invalid"
 * for other syntax errors, "complete" otherwise. Two trailing blank lines force a decision, as
 * in IPython.
 */
export function isComplete(code: string): Completeness {
  const diags = parseDiagnostics(parse(code));
  if (diags.length === 0) return { status: "complete" };
  if (/(^|\n)[ \t]*\n[ \t]*$/.test(code)) return { status: "invalid" };
  const end = code.length;
  const waitsForMore = diags.some(
    (d) =>
      d.start === end &&
      (d.code === UNTERMINATED_TEMPLATE || (typeof d.messageText === "string" && d.messageText.endsWith(" expected."))),
  );
  return waitsForMore ? { status: "incomplete", indent: indentAfter(code) } : { status: "invalid" };
}

/** The last line's indent, one level deeper after an opening bracket. */
function indentAfter(code: string): string {
  const line = code.slice(code.lastIndexOf("\n") + 1);
  const current = /^[ \t]*/.exec(line)![0];
  return /[{([]\s*$/.test(line) ? current + "  " : current;
}

/** Nodes that start a new function scope: `await` inside them is not top-level. */
function isFunctionScope(ts: ReturnType<typeof tslabTypeScript>, n: TS.Node): boolean {
  return ts.isFunctionLike(n) || ts.isClassLike(n) || ts.isModuleDeclaration(n);
}

/**
 * Whether the cell has a `for await` outside any function. tslab wraps a cell in an async
 * function only when it sees a top-level `await` expression, so such a cell needs telling.
 */
export function hasTopLevelForAwait(code: string): boolean {
  if (!code.includes("await")) return false;
  const ts = tslabTypeScript();
  const visit = (n: TS.Node): boolean => {
    if (ts.isForOfStatement(n) && n.awaitModifier) return true;
    if (isFunctionScope(ts, n)) return false;
    return ts.forEachChild(n, visit) ?? false;
  };
  return visit(parse(code));
}

/**
 * The position of the name being called when the cursor is inside a call's parentheses
 * (`f(a, |`, `new Tuner(|`, `tuner.run({ st|`), innermost call first; undefined otherwise.
 * IPython inspects the callable the same way when the cursor is in its arguments.
 */
export function calleeAt(code: string, cursor: number): number | undefined {
  const ts = tslabTypeScript();
  const sf = parse(code);
  // An unclosed call ends at its last token: whitespace typed after it is still inside.
  let reach = cursor;
  while (reach > 0 && /\s/.test(code[reach - 1])) reach--;
  let found: number | undefined;
  const visit = (n: TS.Node): void => {
    if (n.pos > cursor || n.end < reach) return;
    if ((ts.isCallExpression(n) || ts.isNewExpression(n)) && n.arguments) {
      const children = n.getChildren(sf);
      const open = children.find((c) => c.kind === ts.SyntaxKind.OpenParenToken);
      const close = children.find((c) => c.kind === ts.SyntaxKind.CloseParenToken);
      if (open && cursor >= open.end && (!close || cursor <= close.getStart(sf))) {
        const callee = n.expression;
        found = (ts.isPropertyAccessExpression(callee) ? callee.name : callee).getStart(sf);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** `exit`, `quit`, `exit()` or `quit()` alone in a cell (IPython's way to leave a console): which one. */
export function exitCommand(code: string): "exit" | "quit" | undefined {
  return /^\s*(exit|quit)\s*(\(\s*\))?\s*;?\s*$/.exec(code)?.[1] as "exit" | "quit" | undefined;
}

/** `name?`, `?name` or `a.b??` alone in a cell (IPython's help): the dotted name asked about. */
export function helpQuery(code: string): string | undefined {
  const m = /^\s*(\?{0,2})\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*(\?{0,2})\s*$/.exec(code);
  return m && (m[1] || m[3]) ? m[2] : undefined;
}

/**
 * The cell with every shorthand property (`{ name }`) written out (`{ name: name }`). tslab's
 * converter renames the names that earlier cells declared, but not inside a shorthand property, so
 * `({ model })` threw "model is not defined" for a model from an earlier cell. Line numbers stay.
 */
export function expandShorthandProperties(code: string): string {
  if (!code.includes("{")) return code;
  const ts = tslabTypeScript();
  const ends: Array<{ end: number; name: string }> = [];
  const visit = (n: TS.Node): void => {
    if (ts.isShorthandPropertyAssignment(n) && !n.objectAssignmentInitializer)
      ends.push({ end: n.name.end, name: n.name.text });
    ts.forEachChild(n, visit);
  };
  visit(parse(code));
  let out = code;
  for (const { end, name } of ends.sort((a, b) => b.end - a.end))
    out = `${out.slice(0, end)}: ${name}${out.slice(end)}`;
  return out;
}
