-- bench/load's script for wrk (generator.go): sends a phase's requests
-- round-robin, each request number seq request seq % n, with "{seq}" in
-- it replaced by seq; counts the answers that are not a 200 holding
-- "status":true when asked to check bodies (else wrk counts those with a
-- status over 399); prints one summary line for bench/load to read.
--
-- Arguments after wrk's "--": the requests' file (each one's length in
-- decimal and a newline, then its bytes), the first request number, the
-- number of threads (thread k sends numbers first+k, first+k+threads…),
-- and "true" to check every answer's body. wrk reads the answers' headers
-- and bodies into Lua only when response() is defined once init() has run.

local threads, count = {}, 0

function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end

-- In each thread's own state: its requests, its next number, its failures.
local pre, post, n, step = {}, {}, 0, 1
seq, failed = 0, 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = string.find(data, "\n", pos, true)
    local len = tonumber(string.sub(data, pos, nl - 1))
    local r = string.sub(data, nl + 1, nl + len)
    pos = nl + 1 + len
    local a, b = string.find(r, "{seq}", 1, true)
    pre[n] = a and string.sub(r, 1, a - 1) or r
    post[n] = a and string.sub(r, b + 1) or false
    n = n + 1
  end
  step = tonumber(args[3])
  seq = tonumber(args[2]) + id - step
  if args[4] == "true" then
    response = check
  end
end

function request()
  seq = seq + step
  local i = seq % n
  local p = post[i]
  if p then
    return pre[i] .. string.format("%d", seq) .. p
  end
  return pre[i]
end

function check(status, headers, body)
  if status ~= 200 or not string.find(body, '"status":true', 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local failures, last = 0, 0
  for _, t in ipairs(threads) do
    failures = failures + t:get("failed")
    last = math.max(last, t:get("seq"))
  end
  local e = summary.errors
  if failures == 0 then
    failures = e.status -- no body checked: the answers over 399
  end
  io.write(string.format("licensor-wrk %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, failures, last))
end
