// The official `openai` client against the compose cluster's gateway
// (scripts/compose-test): every problem of PROBLEMS_FILE (JSONL from `trim
// sim-problems --json`) is sent as a chat completion, half of them
// streamed, all at once.  Prints one JSON line per problem
// {problem_id, content, steps, stream} and exits 1 on any failure.
// Usage: node compose_openai.mjs BASE_URL PROBLEMS_FILE
// (NODE_PATH or a node_modules beside it holds the pinned openai package.)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.OPENAI_MODULE_DIR + "/");
const mod = require("openai");
const OpenAI = mod.OpenAI || mod.default || mod;

const [baseURL, file] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey: "none" });
const problems = readFileSync(file, "utf8").trim().split("\n")
  .map((l) => JSON.parse(l).text);

async function ask(text, i) {
  const messages = [{ role: "user", content: text }];
  if (i % 2 === 0) {
    const r = await client.chat.completions.create({ model: "trim", messages });
    const c = r.choices[0];
    if (c.finish_reason !== "stop" || !c.message.content || !r.trim ||
        r.usage.completion_tokens <= 0)
      throw new Error("answer " + i + ": " + JSON.stringify(r));
    return { problem_id: r.trim.problem_id, content: c.message.content,
             steps: r.trim.steps, stream: false };
  }
  const stream = await client.chat.completions.create(
    { model: "trim", messages, stream: true });
  let content = "", chunks = 0, finish = null, id = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (c && c.delta && c.delta.content) {
      content += c.delta.content;
      chunks++;
    }
    if (c && c.finish_reason) finish = c.finish_reason;
    if (chunk.trim && chunk.trim.problem_id) id = chunk.trim.problem_id;
  }
  if (finish !== "stop" || chunks === 0)
    throw new Error("stream " + i + ": finish " + finish + ", " + chunks +
                    " chunks");
  return { problem_id: id, content, steps: chunks, stream: true };
}

try {
  const got = await Promise.all(problems.map(ask));
  for (const g of got) console.log(JSON.stringify(g));
} catch (e) {
  console.error("compose_openai: " + e.message);
  process.exit(1);
}
