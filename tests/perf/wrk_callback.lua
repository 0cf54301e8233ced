-- Posts ~200-byte callbacks from many devices. tokens.txt holds "device token" lines.
local devices = {}
local n = 0
for line in io.lines(os.getenv("PERF_TOKENS")) do
  local d, t = line:match("(%S+) (%S+)")
  n = n + 1
  devices[n] = {d, t}
end
local user = os.getenv("PERF_USER")
local counter = 0

request = function()
  counter = counter + 1
  local dev = devices[math.random(n)]
  local body = string.format(
    '{"temperature":%.2f,"humidity":%.1f,"pressure":%.1f,"battery":%d,"rssi":%d,"seq":%d,"status":"ok","firmware":"1.4.2","location":{"lat":48.8566,"lon":2.3522}}',
    20 + math.random() * 5, 40 + math.random() * 20, 1000 + math.random() * 30, math.random(0, 100),
    -math.random(40, 90), counter)
  return wrk.format("POST", "/v3/users/" .. user .. "/devices/" .. dev[1] .. "/callback/data",
    {["Authorization"] = "Bearer " .. dev[2], ["Content-Type"] = "application/json"}, body)
end
