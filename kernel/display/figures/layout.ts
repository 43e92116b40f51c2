// The parts every figure's layout shares: a title with an optional second line that says what is
// shown (plotly's default subtitle is too small to read).

export function figureTitle(text: string, subtitle?: string): Record<string, unknown> {
  return {
    text,
    font: { size: 14 },
    ...(subtitle ? { subtitle: { text: subtitle, font: { size: 12, color: "#666" } } } : {}),
  };
}
