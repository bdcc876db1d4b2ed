-- wrk script: POST /v1/moderate/image with one JPEG body.
-- Usage:  wrk -s image.lua URL -- API_KEY JPEG_FILE
-- The URL's path is ignored; every request goes to /v1/moderate/image.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local req

function init(args)
  local key, path = args[1], args[2]
  assert(key and key ~= "" and path, "pass the API key and the JPEG file after --")
  local f = assert(io.open(path, "rb"))
  local body = f:read("*a")
  f:close()
  req = wrk.format("POST", "/v1/moderate/image", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "image/jpeg",
  }, body)
end

function request()
  return req
end
