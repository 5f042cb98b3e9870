-- Varied customer events: every type, many customers. One per POST /api/v1/events/ingest, or, with
-- BENCH_BATCH=N (N > 0), N per POST /api/v1/events/batch.
local types = {"purchase", "cart_abandon", "page_view", "app_open", "support_call"}
local channels = {"web", "mobile", "pos"}
local token = os.getenv("BENCH_TOKEN")
local tenant = os.getenv("BENCH_TENANT")
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "5000")
local batch = tonumber(os.getenv("BENCH_BATCH") or "0")
local counter = 0

function init(args)
  math.randomseed(seed or 1)
end

local function event()
  counter = counter + 1
  return string.format(
    '{"type":"%s","customerId":"CUST-%d","channel":"%s","data":{"amount":%d.%02d,"sku":"SKU-%d","cart":{"items":[{"sku":"A-%d"}]},"url":"/p/%d"}}',
    types[(counter % 5) + 1], math.random(1, customers), channels[(counter % 3) + 1],
    math.random(1, 1000), math.random(0, 99), math.random(1, 50), math.random(1, 9), math.random(1, 200))
end

request = function()
  local path, body = "/api/v1/events/ingest", nil
  if batch > 0 then
    local events = {}
    for n = 1, batch do events[n] = event() end
    path, body = "/api/v1/events/batch", '{"events":[' .. table.concat(events, ",") .. ']}'
  else
    body = event()
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["X-Tenant-Id"] = tenant,
  }, body)
end

-- Every acknowledged event id is kept, so the run can check each one is stored and streamed.
local threads = {}
acknowledged = {}

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
  table.insert(threads, thread)
end

response = function(status, headers, body)
  if status == 200 then
    for id in string.gmatch(body, '"eventId":"(evt_%x+)"') do acknowledged[#acknowledged + 1] = id end
  end
end

function done(summary, latency, requests)
  local path = os.getenv("BENCH_IDS_FILE")
  if not path then return end
  local file = io.open(path, "a")
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("acknowledged")) do file:write(id, "\n") end
  end
  file:close()
end
