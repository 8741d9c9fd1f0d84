<?php
$body = file_get_contents('php://input');
header('Content-Type: application/json');
echo json_encode(['server' => $_SERVER, 'body_len' => strlen($body),
    'body_sha256' => hash('sha256', $body)], JSON_INVALID_UTF8_SUBSTITUTE);
