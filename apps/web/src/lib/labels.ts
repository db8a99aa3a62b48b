// Device labels as operators type and read them: "site=lab, ring=canary".

/** "site=lab, ring=canary" -> { site: 'lab', ring: 'canary' }; the server validates keys and values. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [key = '', ...rest] = part.split('=');
    labels[key.trim()] = rest.join('=').trim();
  }
  return labels;
}

export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}
