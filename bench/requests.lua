-- wrk script: requests from a file (one per line, cycled), a JSON summary at the end.
-- Line: METHOD <TAB> PATH <TAB> headers joined by \x1f ("Name: value") <TAB> body
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  for line in io.lines(args[1]) do
    local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local h = {}
    for pair in headers:gmatch("[^\31]+") do
      local name, value = pair:match("^([^:]+):%s*(.*)$")
      h[name] = value
    end
    table.insert(lines, wrk.format(method, path, h, body ~= "" and body or nil))
  end
  step = tonumber(args[2])
  pause = tonumber(args[3] or "0")
  position = id
end

-- A pause before each request (0: none): a smoke run that checks the endpoints, not the speed.
function delay()
  return pause
end

function request()
  local r = lines[(position % #lines) + 1]
  position = position + step
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
