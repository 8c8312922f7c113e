// openai_client.mjs: the official openai npm client against `trim gateway`.
//
//   node openai_client.mjs BASE_URL DB PROBLEM
//
// OPENAI_PREFIX names the npm prefix the test installed the pinned openai
// package into.  Asks chat.completions.create once whole and once streamed
// (with usage), and prints one JSON line per call for test_gateway to check
// against the audit store DB.  When the stream's first step arrives, the
// problem's row is read from DB at once: its status then shows whether
// steps were streamed before the problem finished.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseURL, db, problem] = process.argv.slice(2);
const entry = join(process.env.OPENAI_PREFIX, 'node_modules', 'openai',
                   'index.mjs');
const { default: OpenAI } = await import(pathToFileURL(entry).href);
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
const messages = [{ role: 'user', content: problem }];

const whole = await client.chat.completions.create({ model: 'trim', messages });
console.log(JSON.stringify({
  call: 'whole',
  id: whole.id,
  object: whole.object,
  content: whole.choices[0].message.content,
  role: whole.choices[0].message.role,
  finish_reason: whole.choices[0].finish_reason,
  usage: whole.usage,
  trim: whole.trim,
}));

const stream = await client.chat.completions.create({
  model: 'trim', messages, stream: true,
  stream_options: { include_usage: true },
});
let content = '', role = null, finish = null, usage = null, trim = null;
let statusAtFirstStep = null, chunks = 0, id = null;
for await (const chunk of stream) {
  chunks++;
  id = chunk.id;
  if (chunk.usage) usage = chunk.usage;
  if (chunk.trim) trim = chunk.trim;
  const choice = chunk.choices[0];
  if (!choice) continue;
  if (choice.delta.role) role = choice.delta.role;
  if (choice.finish_reason) finish = choice.finish_reason;
  if (choice.delta.content && statusAtFirstStep === null) {
    const pid = Number(chunk.id.replace(/^chatcmpl-trim-/, ''));
    statusAtFirstStep = execFileSync('sqlite3', [
      db, `SELECT status FROM problems WHERE problem_id = ${pid}`,
    ]).toString().trim();
  }
  content += choice.delta.content ?? '';
}
console.log(JSON.stringify({
  call: 'stream', id, content, role, finish_reason: finish, usage, trim,
  chunks, status_at_first_step: statusAtFirstStep,
}));
