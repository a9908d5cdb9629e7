-- wrk script for the token API: spreads requests over logged-in users and
-- counts 2xx answers, so a cheap error path (402, 400, 503) cannot pass for
-- throughput. Set by bench/http_bench.py through the environment:
--   BENCH_USERS   file with one "session-cookie<TAB>csrf-token" line per user
--   BENCH_METHOD  GET or POST;  BENCH_PATH  e.g. /api/tokens/deduct
--   BENCH_BODY    JSON body for a POST (sent as application/json)
--   BENCH_UA      the User-Agent the sessions logged in with
-- done() prints one line: BENCH_RESULT {json}

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
local agent = os.getenv("BENCH_UA") or "tokenapp-bench"
local users = {}
local threads = {}
local counter = 0
ok = 0
bad = 0
last_bad = 0

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_USERS")) do
    local cookie, csrf = line:match("^([^\t]+)\t([^\t]+)$")
    if cookie then
      table.insert(users, { cookie = cookie, csrf = csrf })
    end
  end
  counter = (thread_no or 0) * 7
end

function request()
  counter = counter + 1
  local user = users[(counter % #users) + 1]
  local headers = {
    ["Cookie"] = "session=" .. user.cookie,
    ["X-CSRFToken"] = user.csrf,
    ["User-Agent"] = agent,
  }
  if body then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, response_body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    last_bad = status
  end
end

function done(summary, latency, requests)
  local good, failed, status = 0, 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    failed = failed + thread:get("bad")
    if thread:get("last_bad") ~= 0 then status = thread:get("last_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "ok": %d, "non2xx": %d, "last_non2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, good, failed, status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
