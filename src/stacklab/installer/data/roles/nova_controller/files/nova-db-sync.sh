#!/bin/sh
# Written by stacklab: Nova's databases and cells, as the install guide makes them.
set -e
nova-manage api_db sync
nova-manage cell_v2 map_cell0
if ! nova-manage cell_v2 list_cells | grep -q " cell1 "; then
    nova-manage cell_v2 create_cell --name=cell1 --verbose
fi
nova-manage db sync
