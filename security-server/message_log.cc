// message_log.cc: written by the message-log work (see message_log.h).
