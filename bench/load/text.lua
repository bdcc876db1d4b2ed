-- wrk script: POST /v1/moderate/text with a rotating set of short, realistic messages (clean,
-- profane, evasive, spam).  Usage:  wrk -s text.lua URL -- API_KEY
-- The URL's path is ignored; every request goes to /v1/moderate/text.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local messages = {
  "hey, are we still on for lunch tomorrow? I can do 12:30",
  "thanks for the help yesterday, really appreciated it!",
  "the new update broke my login again, any idea when it gets fixed?",
  "great match last night, that second goal was unreal",
  "shut the fuck up you stupid idiot",
  "this game is shit and the devs are a bunch of morons",
  "you are a f.u.c.k.i.n.g loser, nobody likes you",
  "WINNER!! You have been selected for a 1000 pound prize. Call 09061701461 now or visit www.spam.example to claim",
}

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local requests = {}
local n = 0

function init(args)
  local key = args[1] or os.getenv("RAMPART_KEY")
  assert(key and key ~= "", "pass the API key after --")
  local headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }
  for i, text in ipairs(messages) do
    requests[i] = wrk.format("POST", "/v1/moderate/text", headers,
      '{"text": ' .. json_string(text) .. '}')
  end
  -- Threads start at different messages (`id` is set by setup() in common.lua).
  n = ((id or 1) * 3) % #requests
end

function request()
  n = n % #requests + 1
  return requests[n]
end
