-- Stand-in for HAProxy Technologies' haproxy-lua-cors (cors.lua), written for waxlb's tests; not a copy.
-- It registers the same two actions with the same argument counts as the cors.lua that the oiac wiki
-- ships (http-request lua.cors METHODS ORIGINS HEADERS; http-response lua.cors), so `haproxy -c` judges a
-- configuration's lua.cors rules as it would with the real file. What it does at run time is a simplified
-- version of the real one: remember the Origin, answer it back on the response when allowed.
local function cors_request(txn, methods, origins, headers)
  local o = txn.sf:req_hdr("Origin")
  txn:set_var("txn.cors_origin", o or "")
  txn:set_var("txn.cors_allowed", origins or "")
  txn:set_var("txn.cors_methods", methods or "")
  txn:set_var("txn.cors_headers", headers or "")
end

local function cors_response(txn)
  local o = txn:get_var("txn.cors_origin")
  local allowed = txn:get_var("txn.cors_allowed") or ""
  if o == nil or o == "" then return end
  if string.find("," .. allowed .. ",", ",%*,") then
    txn.http:res_set_header("Access-Control-Allow-Origin", "*")
  elseif string.find("," .. allowed .. ",", "," .. o .. ",", 1, true) then
    txn.http:res_set_header("Access-Control-Allow-Origin", o)
    txn.http:res_add_header("Vary", "Accept-Encoding,Origin")
  end
end

core.register_action("cors", {"http-req"}, cors_request, 3)
core.register_action("cors", {"http-res"}, cors_response, 0)
