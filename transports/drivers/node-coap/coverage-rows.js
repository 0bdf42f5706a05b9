// The PICS coverage-report of node-coap: what V8 measured in each driver process (the PICS
// coverage-driver sets NODE_V8_COVERAGE=DIR), reported by c8 for node-coap's UDP code, one row
// "FILE LINES_HIT LINES BRANCHES_HIT BRANCHES" per file.
//
// node-coap ships compiled JavaScript whose source maps point at TypeScript files it does not
// ship; c8 drops a file whose map it cannot follow. So c8 reads a copy of each file without its
// map comment (the lines stay where they are), and the measurements are pointed at the copies.
//
// usage: node coverage-rows.js DIR
'use strict'
const fs = require('fs')
const path = require('path')
const { pathToFileURL } = require('url')
const { execFileSync } = require('child_process')

const UDP_CODE = ['agent.js', 'server.js', 'retry_send.js']
const lib = path.join(__dirname, 'node_modules', 'coap', 'dist', 'lib')

function main (dir) {
  const view = path.join(dir, 'view')
  const raw = path.join(dir, 'raw')
  fs.mkdirSync(view, { recursive: true })
  fs.rmSync(raw, { recursive: true, force: true })
  fs.mkdirSync(raw)
  const copyOf = new Map()
  for (const file of UDP_CODE) {
    const text = fs.readFileSync(path.join(lib, file), 'utf8')
    fs.writeFileSync(path.join(view, file), text.replace(/^\/\/# sourceMappingURL=.*$/m, ''))
    copyOf.set(pathToFileURL(path.join(lib, file)).href, pathToFileURL(path.join(view, file)).href)
  }
  const measured = fs.readdirSync(dir).filter((f) => /^coverage-.*\.json$/.test(f))
  if (measured.length === 0) {
    console.error(`coverage-rows.js: no V8 coverage in ${dir}: did the cells run?`)
    return 1
  }
  for (const f of measured) {
    const data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))
    const result = data.result
      .filter((script) => copyOf.has(script.url))
      .map((script) => ({ ...script, url: copyOf.get(script.url) }))
    fs.writeFileSync(path.join(raw, f), JSON.stringify({ result }))
  }
  const report = path.join(dir, 'report')
  execFileSync(path.join(__dirname, 'node_modules', '.bin', 'c8'),
    ['report', '--temp-directory', raw, '--reports-dir', report, '--reporter', 'json-summary',
      '--src', view, '--include', '*.js'],
    { cwd: view, stdio: ['ignore', 'ignore', 'inherit'] })
  const summary = JSON.parse(fs.readFileSync(path.join(report, 'coverage-summary.json'), 'utf8'))
  let status = 0
  for (const file of UDP_CODE) {
    const s = summary[path.join(view, file)]
    if (s === undefined) {
      console.error(`coverage-rows.js: no lines of ${file} were measured`)
      status = 1
      continue
    }
    console.log(`coap/dist/lib/${file} ${s.lines.covered} ${s.lines.total} ` +
      `${s.branches.covered} ${s.branches.total}`)
  }
  return status
}

if (process.argv.length !== 3) {
  console.error('usage: node coverage-rows.js DIR')
  process.exit(2)
}
process.exitCode = main(process.argv[2])
