import type {Interfaces} from '@oclif/core'
import {UsageError} from '../lib/errors.js'
import {Output, colorEnabled, outputFormatFromArgv} from '../lib/output.js'
import {editDistance} from '../lib/suggest.js'

/**
 * Report an unknown command (`fedobs clustr`, `fedobs cluster craete`, `fedobs help clustr`): the
 * closest commands and topics, in the format asked for (-o json/yaml or --json: the error
 * document on stdout). Returns the error; the caller exits with its code (2).
 */
export function reportUnknownCommand(config: Interfaces.Config, given: string, argv: readonly string[]): UsageError {
  // oclif joins every word before the first flag into the id (`cluster craete hub` is
  // cluster:craete:hub): the unknown command is the known topics followed by one word.
  const words = given.split(':')
  let known = 0
  while (known < words.length - 1 && config.findTopic(words.slice(0, known + 1).join(':'))) known++
  const id = words.slice(0, known + 1).join(':')
  const readable = (commandId: string): string => commandId.split(':').join(config.topicSeparator)
  const commands = config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const topics = config.topics.filter((t) => !t.hidden).map((t) => t.name)
  const candidates = [...new Set([...commands, ...topics])]
  // `clustr list` is best answered with `cluster list`, then with the topic `cluster`.
  const suggestions = [...new Set([...(given === id ? [] : nearest(given, candidates)), ...nearest(id, candidates)])].slice(0, 3).map((s) => `${config.bin} ${readable(s)}`)
  const topic = known > 0 ? config.findTopic(words.slice(0, known).join(':')) : undefined
  const error = new UsageError(`"${readable(id)}" is not a ${config.bin} command`, {
    suggestions,
    hint: `\`${config.bin} help${topic ? ` ${readable(topic.name)}` : ''}\` lists the commands.`,
    code: 'unknown-command',
  })
  const format = outputFormatFromArgv(argv)
  const output = new Output({json: format === 'json' || format === 'yaml', format, verbose: false, color: colorEnabled(argv, process.env, process.stderr.isTTY ?? false)})
  if (output.json) {
    output.document({error: error.toJSON()})
  } else {
    output.error(error.message)
    if (suggestions.length > 0) process.stderr.write(`  did you mean: ${suggestions.join(', ')}\n`)
    process.stderr.write(`  ${output.paint('cyan', 'hint:')} ${error.hint}\n`)
  }
  return error
}

/**
 * The candidates nearest to `id` — only the closest tier, so `cluster craete` suggests `cluster
 * create` and not also `cluster delete` — when they are near enough to be a typo (a third of the
 * word, at least 2 edits), or start with what was typed (`cluster kube` → `cluster kubeconfig`).
 */
function nearest(id: string, candidates: readonly string[]): string[] {
  const scored = candidates
    .map((candidate) => ({candidate, distance: editDistance(id.toLowerCase(), candidate.toLowerCase())}))
    .filter(({candidate, distance}) => distance <= Math.max(2, Math.floor(candidate.length / 3)) || candidate.startsWith(id))
  const best = Math.min(...scored.map((s) => s.distance))
  return scored
    .filter((s) => s.distance === best || s.candidate.startsWith(id))
    .sort((a, b) => Number(b.candidate.startsWith(id)) - Number(a.candidate.startsWith(id)) || a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map((s) => s.candidate)
}
