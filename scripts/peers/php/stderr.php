<?php
error_log('stderr-line from php');
file_put_contents('php://stderr', "raw stderr bytes\n");
echo "after stderr\n";
