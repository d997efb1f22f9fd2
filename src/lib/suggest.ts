/** Levenshtein distance, small and allocation-light; for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]!
}

/** The candidates closest to `input`, best first; only reasonably close ones. */
export function closest(input: string, candidates: readonly string[], max = 3): string[] {
  const lower = input.toLowerCase()
  return candidates
    .map((candidate) => ({candidate, distance: editDistance(lower, candidate.toLowerCase())}))
    .filter(({candidate, distance}) => distance <= Math.max(2, Math.floor(candidate.length / 3)) || candidate.toLowerCase().startsWith(lower))
    .sort((x, y) => x.distance - y.distance)
    .slice(0, max)
    .map(({candidate}) => candidate)
}
