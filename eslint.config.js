// ESLint (flat config): typescript-eslint's strictTypeChecked over the whole TypeScript program
// (tsconfig.check.json: src, test, dashboards/src, scripts). Every rule turned off or narrowed below says why.
// Formatting is prettier's job (.prettierrc.json); no stylistic rules here.
import js from '@eslint/js'
import {defineConfig, globalIgnores} from 'eslint/config'
import tseslint from 'typescript-eslint'

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'test-results/', 'scratch/', '.fedobs/', 'oclif.manifest.json']),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {parserOptions: {project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname}},
    rules: {
      // `!` is how this code states "present" after an index read under noUncheckedIndexedAccess
      // (regex groups, arrays checked by length one line up): ~550 uses, each a deliberate claim.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // The types of Kubernetes, Linode and Prometheus responses are optimistic (client-node marks
      // fields required that servers omit); the defensive `?.`/`??` it flags are on purpose.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Pure style (`() => void x` vs a block body); it says nothing about behaviour.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Strict mode refuses numbers, nullish and `any` in templates; the recommended options allow
      // them. Messages interpolate counts everywhere (`${n} clusters`), and the nullish cases are
      // values absent only where the code has just checked otherwise. Objects stay refused
      // (no-base-to-string) and `any` is refused in src/ by the no-unsafe-* rules.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowAny: true,
          allowBoolean: true,
          allowNullish: true,
          allowNumber: true,
          allowRegExp: true,
          allow: [
            {from: 'lib', name: ['Error', 'URL', 'URLSearchParams']},
            {from: 'package', package: 'url', name: ['URL', 'URLSearchParams']},
          ],
        },
      ],
      // @kubernetes/client-node's models (V1Secret, V1ObjectMeta, …) are plain-data classes with no
      // methods or private state, and the library itself documents passing object literals for them.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // For the same reason a spread of one of those models (`{...created, status}` to build a
      // replace body) loses nothing: client-node serializes a body by the model its method names,
      // not by the prototype. The rule keeps refusing every other class, arrays in objects, etc.
      '@typescript-eslint/no-misused-spread': [
        'error',
        {allow: [{from: 'package', package: '@kubernetes/client-node', name: ['V1Node', 'V1ObjectMeta', 'V1PolicyRule', 'V1Service', 'V1ServiceStatus']}]},
      ],
      // oclif's `run()` and interface methods (kubeconfigFor, …) are async by contract; dropping
      // `async` from one without an await would turn its synchronous throws into throws at the call
      // instead of rejected promises.
      '@typescript-eslint/require-await': 'off',
      // `_` marks what a destructuring leaves out on purpose (`const {a: _, ...rest} = x`).
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true}],
    },
  },
  {
    // Tests and benchmarks read untyped documents from real servers (Prometheus, Loki, the
    // kube-apiserver, collector self-metrics, YAML fixtures) and assert on them: a wrong shape fails
    // the assertion at once, which is the check `no-unsafe-*` would otherwise give. The sandbox
    // (src/sandbox: the fake Linode API, the test bed, the stand-in telemetry sources) is that same
    // code, moved into the product so that `fedobs sandbox` runs it; it reads the OpenAPI spec and
    // collector configs as untyped documents. The rest of src/ keeps every one of these rules.
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'src/sandbox/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The dashboards are Grafana's classic (v1) dashboard model: what Grafana 12 provisions from
    // files. The foundation SDK marks its v1 builder deprecated in favour of dashboardv2, which only
    // Grafana's (experimental) v2 dashboard API reads; every other deprecation stays an error.
    files: ['dashboards/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-deprecated': ['error', {allow: [{from: 'package', package: '@grafana/grafana-foundation-sdk', name: ['Dashboard', 'DashboardBuilder']}]}],
    },
  },
  {
    // bin/*.js and scripts/bench.mjs are plain JavaScript outside the TypeScript program.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {globals: {process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', performance: 'readonly'}},
  },
)
