import BlockSnap

print("tour: not yet written")
