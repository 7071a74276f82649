-- wrk script for the command benchmark (bench/run/wrk.py writes the request file).
--
-- WRK_REQUESTS names a file of requests, one per line: METHOD \t PATH \t TOKEN \t BODY
-- (TOKEN and BODY may be empty). Each thread takes every n-th line. WRK_CYCLE=1 repeats the
-- list until wrk's duration ends (the floor); otherwise each request is sent once and the
-- thread stops when the last answer is in, so every ballot is a different sheet.
-- Once a thread has sent its list, connections still free send GET /health/live, whose
-- answers are not counted.
--
-- Each thread counts answers per status and per outcome ("cast", "amended", "unchanged" in
-- the body) and the seconds from its first request to its last counted answer (its own
-- clock: wrk's summary counts its whole -d even when the threads stopped early). done()
-- prints one line per thread: WRK_THREAD {json}.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } suxing_timespec;
int clock_gettime(int clk_id, suxing_timespec *tp);
]]
local timespec = ffi.new("suxing_timespec")
local function now()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local requests = {}
local sent = 0
local answered = 0
local cycle = os.getenv("WRK_CYCLE") == "1"
local idle = nil
statuses = {}
outcomes = {}
first = 0
last = 0
count = 0

function init(args)
  local path = os.getenv("WRK_REQUESTS")
  local every = tonumber(os.getenv("WRK_THREADS") or "1")
  local i = 0
  for line in io.lines(path) do
    if i % every == id then
      local method, target, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      requests[#requests + 1] = wrk.format(method, target, headers, body)
    end
    i = i + 1
  end
  count = #requests
  idle = wrk.format("GET", "/health/live")
end

local verified = false

function request()
  if id == 0 and not verified then
    -- wrk calls the first thread's request() once before it connects, to check what the
    -- script returns: answer that call with the idle request, so no ballot is lost to it
    verified = true
    return idle
  end
  if sent == 0 then
    first = now()
  end
  sent = sent + 1
  if cycle then
    return requests[(sent - 1) % count + 1]
  end
  if sent > count then
    return idle
  end
  return requests[sent]
end

function response(status, headers, body)
  if not cycle and sent > count and body and body:find('"status":"ok"', 1, true) then
    return -- the answer to an idle request
  end
  answered = answered + 1
  last = now()
  statuses[status] = (statuses[status] or 0) + 1
  if body then
    local outcome = body:match('"outcome":"(%a+)"')
    if outcome then
      outcomes[outcome] = (outcomes[outcome] or 0) + 1
    end
  end
  if not cycle and answered == count then
    wrk.thread:stop()
  end
end

local function json(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = string.format('"%s":%s', tostring(k), json(v))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(value)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write("WRK_THREAD ", json({
      statuses = thread:get("statuses"),
      outcomes = thread:get("outcomes"),
      seconds = thread:get("last") - thread:get("first"),
      listed = thread:get("count"),
    }), "\n")
  end
  io.write("WRK_SUMMARY ", json({
    requests = summary.requests,
    duration = summary.duration / 1e6,
    p50_ms = latency:percentile(50) / 1000,
    p99_ms = latency:percentile(99) / 1000,
    errors = summary.errors,
  }), "\n")
end
