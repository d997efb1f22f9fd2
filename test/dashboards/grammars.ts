/**
 * The query languages' own grammars, for the dashboard linter (src/dashboards/lint.ts takes them as
 * an argument): Prometheus's lezer-promql, Grafana's lezer-logql and lezer-traceql. devDependencies,
 * so only tests load them.
 */
import {parser as logql} from '@grafana/lezer-logql'
import {parser as traceql} from '@grafana/lezer-traceql'
import {parser as promql} from '@prometheus-io/lezer-promql'
import type {Grammars} from '../../src/dashboards/lint.js'

export const GRAMMARS: Grammars = {promql, logql, traceql}
