-- Batches for POST /api/v1/events/batch: BENCH_BATCH events each (default 100), every type, many customers.
local types = {"purchase", "cart_abandon", "page_view", "app_open", "support_call"}
local channels = {"web", "mobile", "pos"}
local token = os.getenv("BENCH_TOKEN")
local tenant = os.getenv("BENCH_TENANT")
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "5000")
local size = tonumber(os.getenv("BENCH_BATCH") or "100")
local counter = 0

function init(args)
  math.randomseed(seed or 1)
end

request = function()
  local events = {}
  for n = 1, size do
    counter = counter + 1
    events[n] = string.format(
      '{"type":"%s","customerId":"CUST-%d","channel":"%s","data":{"amount":%d.%02d,"sku":"SKU-%d","cart":{"items":[{"sku":"A-%d"}]},"url":"/p/%d"}}',
      types[(counter % 5) + 1], math.random(1, customers), channels[(counter % 3) + 1],
      math.random(1, 1000), math.random(0, 99), math.random(1, 50), math.random(1, 9), math.random(1, 200))
  end
  return wrk.format("POST", "/api/v1/events/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["X-Tenant-Id"] = tenant,
  }, '{"events":[' .. table.concat(events, ",") .. ']}')
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
