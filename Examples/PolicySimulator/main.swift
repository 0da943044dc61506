import Policy

print("policy-simulator: not yet written")
