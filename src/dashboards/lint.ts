/**
 * The dashboard linter: every rule a fedobs dashboard keeps, checked on Grafana's JSON model with
 * the query languages' own grammars (Prometheus's lezer-promql, Grafana's lezer-logql and
 * lezer-traceql). Pure functions; the grammars are passed in, so this module loads no parser itself
 * (they are devDependencies: the linter runs in the tests, never in the CLI's runtime path).
 */
import type {SyntaxNode, Tree} from '@lezer/common'
import {
  allPanels,
  BUILTIN_DATASOURCE_UIDS,
  interpolate,
  isDatasourceType,
  originalText,
  PROVISIONED_DATASOURCES,
  variableName,
  type Dashboard,
  type DatasourceRef,
  type DatasourceType,
  type Interpolated,
  type Panel,
  type Target,
} from './grafana.js'

/** A parser of one query language (an LRParser of @lezer/lr). */
export interface Grammar {
  parse(input: string): Tree
}

export interface Grammars {
  promql: Grammar
  logql: Grammar
  traceql: Grammar
}

export const RULES = {
  uid: 'the dashboard has a stable uid (1-40 characters of [A-Za-z0-9_-]), unique among the dashboards',
  'panel-id': 'every panel (rows and their panels too) has an id, unique in its dashboard',
  'cluster-variable': 'a `cluster` template variable exists, multi-select, with All',
  datasource: 'panel and target datasources are a provisioned UID (prometheus, loki, tempo) of that type, or a datasource variable / import input',
  parse: 'every query parses with its language’s grammar once variables are substituted as Grafana would',
  variable: 'every variable a query uses is defined by the dashboard or by Grafana',
  'rate-interval': 'ranges of rate/irate/increase (and of *_over_time over counters) are $__rate_interval; LogQL ranges a Grafana interval variable',
  counter: 'counters (_total, _count, _sum, _bucket) appear only as the range vector of rate, irate or increase',
  'cluster-filter': 'every selector filters on cluster_id=~"$cluster" (TraceQL: a cluster.id or cluster_id condition)',
  unit: 'every panel that draws numbers sets fieldConfig.defaults.unit',
} as const
export type RuleId = keyof typeof RULES

export interface Finding {
  rule: RuleId
  dashboard: {title: string; uid: string; file?: string}
  panel?: {id?: number; title: string}
  refId?: string
  message: string
  /** The query as written (before substitution). */
  expression?: string
  /** Where in the query, 1-based, in the text as written. */
  position?: {offset: number; line: number; column: number}
}

export interface LintOptions {
  /** The file the dashboard came from, for the findings. */
  file?: string
}

/** Panel types that show no numbers of their own: no unit needed. */
const UNITLESS_PANELS = new Set(['row', 'text', 'logs', 'traces', 'news'])
const RATE_FUNCTIONS = new Set(['rate', 'irate', 'increase'])
const COUNTER_SUFFIXES = ['_total', '_count', '_sum', '_bucket']
const INTERVAL_VARIABLES = new Set(['__rate_interval', '__interval', '__auto', '__range'])
const CLUSTER_LABEL = 'cluster_id'
const CLUSTER_VARIABLE = 'cluster'
const CLUSTER_ATTRIBUTES = new Set(['cluster.id', 'cluster_id'])
const UID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/

export function isCounterName(metric: string): boolean {
  return COUNTER_SUFFIXES.some((suffix) => metric.endsWith(suffix))
}

/** Lint several dashboards: each on its own, and their uids against each other. */
export function lintDashboards(entries: Array<{dashboard: Dashboard; file?: string}>, grammars: Grammars): Finding[] {
  const findings = entries.flatMap(({dashboard, file}) => lintDashboard(dashboard, grammars, file === undefined ? {} : {file}))
  const seen = new Map<string, string>()
  for (const {dashboard, file} of entries) {
    if (!dashboard.uid) continue
    const other = seen.get(dashboard.uid)
    if (other !== undefined) findings.push({rule: 'uid', dashboard: identity(dashboard, file), message: `uid ${dashboard.uid} is also the uid of ${other}`})
    else seen.set(dashboard.uid, file ?? dashboard.title ?? '?')
  }
  return findings
}

export function lintDashboard(dashboard: Dashboard, grammars: Grammars, options: LintOptions = {}): Finding[] {
  const self = identity(dashboard, options.file)
  const findings: Finding[] = []
  const add = (finding: Omit<Finding, 'dashboard'>): void => {
    findings.push({dashboard: self, ...finding})
  }

  if (typeof dashboard.uid !== 'string' || dashboard.uid === '') add({rule: 'uid', message: 'the dashboard has no uid: Grafana makes up a new one on every import, and links to it break'})
  else if (!UID_PATTERN.test(dashboard.uid)) add({rule: 'uid', message: `uid ${JSON.stringify(dashboard.uid)} is not 1-40 characters of letters, digits, - and _`})

  const cluster = dashboard.templating?.list?.find((v) => v.name === CLUSTER_VARIABLE)
  if (!cluster) add({rule: 'cluster-variable', message: 'no `cluster` template variable: the dashboard cannot be narrowed to some clusters'})
  else {
    if (!cluster.multi) add({rule: 'cluster-variable', message: 'the `cluster` variable is not multi-select (multi: true)'})
    if (!cluster.includeAll) add({rule: 'cluster-variable', message: 'the `cluster` variable has no All option (includeAll: true)'})
  }

  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.datasource === undefined || variable.type === 'datasource') continue
    const resolved = resolveDatasource(variable.datasource, dashboard)
    if ('problem' in resolved) add({rule: 'datasource', message: `variable ${variable.name}: ${resolved.problem}`})
  }

  const panels = allPanels(dashboard)
  const ids = new Map<number, Panel>()
  for (const {panel} of panels) {
    const where = {panel: panelIdentity(panel)}
    if (typeof panel.id !== 'number') add({...where, rule: 'panel-id', message: 'the panel has no id'})
    else {
      const other = ids.get(panel.id)
      if (other) add({...where, rule: 'panel-id', message: `id ${panel.id} is also the id of panel ${JSON.stringify(other.title ?? '')}`})
      else ids.set(panel.id, panel)
    }
    if (!UNITLESS_PANELS.has(panel.type ?? '') && typeof panel.fieldConfig?.defaults?.unit !== 'string') {
      add({...where, rule: 'unit', message: `the ${panel.type ?? 'untyped'} panel sets no unit (fieldConfig.defaults.unit)`})
    }
    findings.push(...lintPanel(dashboard, self, panel, grammars))
  }
  return findings
}

function identity(dashboard: Dashboard, file?: string): Finding['dashboard'] {
  return {title: dashboard.title ?? '(untitled)', uid: dashboard.uid ?? '', ...(file === undefined ? {} : {file})}
}

function panelIdentity(panel: Panel): NonNullable<Finding['panel']> {
  return {...(typeof panel.id === 'number' ? {id: panel.id} : {}), title: panel.title ?? '(untitled)'}
}

// ---------------------------------------------------------------- datasources

type Resolved = {type: DatasourceType} | {builtin: string} | {problem: string}

/** What a datasource reference points at: one of the provisioned backends, Grafana's own, or a problem. */
export function resolveDatasource(ref: DatasourceRef, dashboard: Dashboard): Resolved {
  if (ref === undefined || ref === null) return {problem: 'no datasource: Grafana would use whatever its default is'}
  if (typeof ref === 'string') {
    return variableName(ref) !== undefined
      ? resolveVariable(ref, undefined, dashboard)
      : {problem: `datasource ${JSON.stringify(ref)} is a name (the legacy string form): use {"type", "uid"} with a provisioned uid`}
  }
  const uid = ref.uid ?? ''
  if ((BUILTIN_DATASOURCE_UIDS as readonly string[]).includes(uid)) return {builtin: uid}
  if (variableName(uid) !== undefined) return resolveVariable(uid, ref.type, dashboard)
  const provisioned = Object.values(PROVISIONED_DATASOURCES).find((d) => d.uid === uid)
  if (!provisioned) {
    return {
      problem: `unknown datasource uid ${JSON.stringify(uid)}: the hub provisions ${Object.values(PROVISIONED_DATASOURCES)
        .map((d) => d.uid)
        .join(', ')}`,
    }
  }
  if (ref.type !== provisioned.type) return {problem: `datasource uid ${uid} has type ${JSON.stringify(ref.type ?? null)}; the provisioned ${uid} is a ${provisioned.type} datasource`}
  return {type: provisioned.type}
}

/** `${DS_PROMETHEUS}` (an import input) or `$datasource` (a datasource variable): its plugin type. */
function resolveVariable(text: string, declaredType: string | undefined, dashboard: Dashboard): Resolved {
  const name = variableName(text)!
  const input = dashboard.__inputs?.find((i) => i.name === name)
  const variable = dashboard.templating?.list?.find((v) => v.name === name)
  const plugin = input?.type === 'datasource' ? input.pluginId : variable?.type === 'datasource' && typeof variable.query === 'string' ? variable.query : undefined
  if (plugin === undefined) return {problem: `datasource ${text} is neither an import input (__inputs) nor a datasource variable of the dashboard`}
  if (!isDatasourceType(plugin)) return {problem: `datasource ${text} is a ${plugin} datasource; fedobs dashboards query ${Object.keys(PROVISIONED_DATASOURCES).join(', ')}`}
  if (declaredType !== undefined && declaredType !== plugin) return {problem: `datasource ${text} is a ${plugin} datasource but the reference says type ${declaredType}`}
  return {type: plugin}
}

// ---------------------------------------------------------------- panels and their queries

function lintPanel(dashboard: Dashboard, self: Finding['dashboard'], panel: Panel, grammars: Grammars): Finding[] {
  const findings: Finding[] = []
  const where = {dashboard: self, panel: panelIdentity(panel)}
  const targets = Array.isArray(panel.targets) ? panel.targets : []
  if (targets.length === 0) return findings
  const panelSource = resolveDatasource(panel.datasource, dashboard)
  if ('problem' in panelSource) findings.push({...where, rule: 'datasource', message: `panel: ${panelSource.problem}`})
  for (const target of targets) {
    const refId = target.refId ?? '?'
    const at = {...where, refId}
    let source: Resolved
    if (target.datasource === undefined) {
      // A target without its own datasource runs on the panel's; a mixed panel has none to give.
      source = 'builtin' in panelSource ? {problem: `no datasource on a target of a ${panelSource.builtin} panel`} : panelSource
      if ('problem' in source && !('problem' in panelSource)) findings.push({...at, rule: 'datasource', message: source.problem})
    } else {
      source = resolveDatasource(target.datasource, dashboard)
      if ('problem' in source) findings.push({...at, rule: 'datasource', message: source.problem})
      else if ('type' in source && 'type' in panelSource && source.type !== panelSource.type) {
        findings.push({...at, rule: 'datasource', message: `the target queries ${source.type} but the panel's datasource is ${panelSource.type} (use -- Mixed -- for both)`})
      }
    }
    if (!('type' in source)) continue
    findings.push(...lintTarget(dashboard, target, source.type, grammars).map((f) => ({...at, ...f})))
  }
  return findings
}

type TargetFinding = Omit<Finding, 'dashboard' | 'panel' | 'refId'>

function lintTarget(dashboard: Dashboard, target: Target, type: DatasourceType, grammars: Grammars): TargetFinding[] {
  if (type === 'tempo') {
    if (target.queryType === undefined || target.queryType === 'traceql') return lintQuery(dashboard, target.query, 'traceql', grammars.traceql)
    if (target.queryType === 'traceqlSearch') return lintTraceSearch(target)
    return [{rule: 'cluster-filter', message: `a Tempo ${target.queryType} query cannot filter on the cluster; use a TraceQL query with ${CLUSTER_LABEL}=~"$${CLUSTER_VARIABLE}"`}]
  }
  return lintQuery(dashboard, target.expr, type === 'prometheus' ? 'promql' : 'logql', type === 'prometheus' ? grammars.promql : grammars.logql)
}

type Language = 'promql' | 'logql' | 'traceql'

/** Everything a query's text and syntax tree must keep. */
interface QueryContext {
  expression: string
  interpolated: Interpolated
  tree: Tree
  findings: TargetFinding[]
  /** The text of the interpolated query between two offsets. */
  text(node: SyntaxNode): string
  /** The text as written behind a node (a substituted value gives back its `$variable`). */
  written(node: SyntaxNode): string
  report(rule: RuleId, message: string, node?: SyntaxNode): void
}

function lintQuery(dashboard: Dashboard, expression: unknown, language: Language, grammar: Grammar): TargetFinding[] {
  if (typeof expression !== 'string' || expression.trim() === '') return [{rule: 'parse', message: `the target has no ${language === 'traceql' ? 'TraceQL query' : 'expression'}`}]
  const interpolated = interpolate(expression, dashboard)
  const findings: TargetFinding[] = []
  const positionOf = (offset: number): NonNullable<Finding['position']> => {
    const before = expression.slice(0, offset).split('\n')
    return {offset, line: before.length, column: before.at(-1)!.length + 1}
  }
  for (const name of interpolated.unknown) findings.push({rule: 'variable', message: `$${name} is not a variable of this dashboard nor one of Grafana's`, expression})
  const tree = grammar.parse(interpolated.text)
  const context: QueryContext = {
    expression,
    interpolated,
    tree,
    findings,
    text: (node) => interpolated.text.slice(node.from, node.to),
    written: (node) => originalText(expression, interpolated, node.from, node.to),
    report(rule, message, node) {
      findings.push({rule, message, expression, ...(node ? {position: positionOf(interpolated.originalOffset(node.from))} : {})})
    },
  }
  const error = firstError(tree)
  if (error) {
    const position = positionOf(interpolated.originalOffset(error.from))
    const near = expression.slice(position.offset, position.offset + 20)
    findings.push({
      rule: 'parse',
      message: `the ${language === 'promql' ? 'PromQL' : language === 'logql' ? 'LogQL' : 'TraceQL'} does not parse at ${position.line}:${position.column}${near ? ` (near ${JSON.stringify(near)})` : ' (at the end)'}`,
      expression,
      position,
    })
    return findings
  }
  if (language === 'promql') lintPromql(context)
  else if (language === 'logql') lintLogql(context)
  else lintTraceql(context)
  return findings
}

function firstError(tree: Tree): SyntaxNode | undefined {
  let found: SyntaxNode | undefined
  tree.iterate({
    enter(node) {
      if (found) return false
      if (node.type.isError) {
        found = node.node
        return false
      }
      return undefined
    },
  })
  return found
}

function nodesNamed(tree: Tree, name: string): SyntaxNode[] {
  const nodes: SyntaxNode[] = []
  tree.iterate({
    enter(node) {
      if (node.name === name) nodes.push(node.node)
    },
  })
  return nodes
}

/** The quoted string's content, the quotes removed. */
function unquote(text: string): string {
  return /^(["'`])([\s\S]*)\1$/.exec(text)?.[2] ?? text
}

/** A matcher value written as the cluster variable ("$cluster", "${cluster}", "[[cluster]]", "${cluster:regex}"). */
function isClusterVariable(written: string): boolean {
  return variableName(unquote(written)) === CLUSTER_VARIABLE
}

function isIntervalVariable(written: string, allowed: ReadonlySet<string>): boolean {
  const name = variableName(written)
  return name !== undefined && allowed.has(name)
}

// ---------------------------------------------------------------- PromQL

/** The function a range vector or selector is the argument of (through parentheses and offsets), by name. */
function enclosingFunction(node: SyntaxNode, context: QueryContext): string | undefined {
  let parent = node.parent
  while (parent && ['ParenExpr', 'OffsetExpr', 'StepInvariantExpr', 'AnchoredExpr', 'SmoothedExpr'].includes(parent.name)) parent = parent.parent
  if (parent?.name !== 'FunctionCallBody') return undefined
  const call = parent.parent
  const identifier = call?.getChild('FunctionIdentifier')
  return identifier ? context.text(identifier) : undefined
}

function metricName(selector: SyntaxNode, context: QueryContext): string | undefined {
  const identifier = selector.getChild('Identifier') ?? selector.getChild('MetricName')
  if (identifier) return context.text(identifier)
  for (const matcher of selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
    const label = matcher.getChild('LabelName')
    const value = matcher.getChild('StringLiteral')
    if (label && value && context.text(label) === '__name__' && matcher.getChild('MatchOp')?.getChild('EqlSingle')) return unquote(context.text(value))
  }
  return undefined
}

function lintPromql(context: QueryContext): void {
  for (const selector of nodesNamed(context.tree, 'VectorSelector')) {
    const metric = metricName(selector, context)
    const shown = context.written(selector)
    if (!hasClusterMatcher(selector, context, ['UnquotedLabelMatcher', 'QuotedLabelMatcher'], ['LabelName', 'QuotedLabelName'], 'StringLiteral', 'EqlRegex')) {
      context.report('cluster-filter', `${shown} does not filter on ${CLUSTER_LABEL}=~"$${CLUSTER_VARIABLE}"`, selector)
    }
    if (metric !== undefined && isCounterName(metric)) {
      const range = selector.parent?.name === 'MatrixSelector' ? selector.parent : undefined
      const consumer = range ? enclosingFunction(range, context) : undefined
      if (!range || consumer === undefined || !RATE_FUNCTIONS.has(consumer)) {
        const around = range ? (consumer === undefined ? 'as a bare range vector' : `inside ${consumer}()`) : 'as an instant vector'
        context.report('counter', `counter ${metric} is used ${around}: a counter means something only through rate(), irate() or increase()`, selector)
      }
    }
  }
  for (const range of nodesNamed(context.tree, 'MatrixSelector')) {
    const consumer = enclosingFunction(range, context)
    if (consumer === undefined) continue
    const selector = range.getChild('VectorSelector')
    const counter = selector ? isCounterName(metricName(selector, context) ?? '') : false
    if (!RATE_FUNCTIONS.has(consumer) && !(consumer.endsWith('_over_time') && counter)) continue
    const duration = range.getChild('DurationExpr') ?? range.lastChild
    if (!duration) continue
    const written = context.written(duration)
    if (!isIntervalVariable(written, new Set(['__rate_interval']))) {
      context.report('rate-interval', `${consumer}() over [${written}]: use [$__rate_interval], which follows the scrape interval and the zoom`, duration)
    }
  }
}

/** The selector (PromQL or LogQL) has a matcher cluster_id =~ "$cluster". */
function hasClusterMatcher(selector: SyntaxNode, context: QueryContext, matcherNames: string[], labelNames: string[], valueName: string, regexOp: string): boolean {
  const matchers: SyntaxNode[] = []
  const collect = (node: SyntaxNode): void => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (matcherNames.includes(child.name)) matchers.push(child)
      else collect(child)
    }
  }
  collect(selector)
  return matchers.some((matcher) => {
    const label = labelNames.map((n) => matcher.getChild(n)).find((n) => n !== null)
    const value = matcher.getChild(valueName)
    const regex = matcher.getChild(regexOp) ?? matcher.getChild('MatchOp')?.getChild(regexOp)
    return label && value && regex && unquote(context.text(label)) === CLUSTER_LABEL && isClusterVariable(context.written(value))
  })
}

// ---------------------------------------------------------------- LogQL

function lintLogql(context: QueryContext): void {
  for (const selector of nodesNamed(context.tree, 'Selector')) {
    if (!hasClusterMatcher(selector, context, ['Matcher'], ['Identifier'], 'String', 'Re')) {
      context.report('cluster-filter', `stream selector ${context.written(selector)} does not filter on ${CLUSTER_LABEL}=~"$${CLUSTER_VARIABLE}"`, selector)
    }
  }
  for (const range of nodesNamed(context.tree, 'Range')) {
    const duration = range.getChild('Duration')
    if (!duration) continue
    const written = context.written(duration)
    if (!isIntervalVariable(written, INTERVAL_VARIABLES)) {
      context.report('rate-interval', `log range [${written}] is fixed: use [$__auto] (or $__interval / $__rate_interval), which follows the zoom`, duration)
    }
  }
}

// ---------------------------------------------------------------- TraceQL

function lintTraceql(context: QueryContext): void {
  for (const filter of nodesNamed(context.tree, 'SpansetFilter')) {
    if (!hasClusterCondition(filter, context)) {
      context.report('cluster-filter', `spanset ${context.written(filter)} has no cluster.id (or cluster_id) =~ "$${CLUSTER_VARIABLE}" condition`, filter)
    }
  }
}

/** A FieldExpression `<scope>.cluster.id =~ "$cluster"` somewhere inside the spanset filter. */
function hasClusterCondition(filter: SyntaxNode, context: QueryContext): boolean {
  const expressions: SyntaxNode[] = []
  const collect = (node: SyntaxNode): void => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.name === 'FieldExpression') expressions.push(child)
      collect(child)
    }
  }
  collect(filter)
  return expressions.some((expression) => {
    const parts = expression.getChildren('FieldExpression')
    const operator = expression.getChild('FieldOp')
    if (parts.length !== 2 || !operator || context.text(operator) !== '=~') return false
    const attribute = parts[0]!.getChild('AttributeField')?.getChild('Identifier')
    const value = parts[1]!.getChild('Static')?.getChild('String')
    return attribute && value && CLUSTER_ATTRIBUTES.has(context.text(attribute)) && isClusterVariable(context.written(value))
  })
}

/** A TraceQL search built in Grafana's query builder: its filters must hold the cluster condition. */
function lintTraceSearch(target: Target): TargetFinding[] {
  const filters = Array.isArray(target.filters) ? target.filters : []
  const ok = filters.some((f) => {
    const values = Array.isArray(f.value) ? f.value : [f.value ?? '']
    return CLUSTER_ATTRIBUTES.has(f.tag ?? '') && f.operator === '=~' && values.some((v) => variableName(v) === CLUSTER_VARIABLE)
  })
  return ok ? [] : [{rule: 'cluster-filter', message: `the trace search has no filter cluster.id =~ $${CLUSTER_VARIABLE}`}]
}

// ---------------------------------------------------------------- reporting

/** One line per finding: file, dashboard (uid), panel (id), refId, rule, message, the query and where. */
export function formatFinding(finding: Finding): string {
  const dashboard = `${finding.dashboard.file ? `${finding.dashboard.file}: ` : ''}dashboard ${JSON.stringify(finding.dashboard.title)} (uid ${finding.dashboard.uid || '-'})`
  const panel = finding.panel ? ` › panel ${JSON.stringify(finding.panel.title)}${finding.panel.id === undefined ? '' : ` (id ${finding.panel.id})`}` : ''
  const target = finding.refId ? ` › ${finding.refId}` : ''
  const at = finding.position ? ` at ${finding.position.line}:${finding.position.column}` : ''
  const query = finding.expression ? `\n    ${finding.expression}` : ''
  return `${dashboard}${panel}${target}: [${finding.rule}] ${finding.message}${at}${query}`
}
