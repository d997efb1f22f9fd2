import type {Hook} from '@oclif/core'
import {reportUnknownCommand} from '../cli/not-found.js'

/**
 * `fedobs clustr`, `fedobs cluster craete`: name the closest commands and topics and exit 2 (bad
 * usage, nothing changed). It never asks and never runs the suggestion — on a terminal neither, as
 * kubectl does — since a guessed `cluster delete` must not run by accident. Used instead of
 * @oclif/plugin-not-found, which exits 127, prints no suggestion without a TTY, and on a terminal
 * offers to run its guess.
 */
const hook: Hook.CommandNotFound = async function (options) {
  const error = reportUnknownCommand(options.config, options.id, options.argv ?? [])
  this.exit(error.exitCode)
}

export default hook
